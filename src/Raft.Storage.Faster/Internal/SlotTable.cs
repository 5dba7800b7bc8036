using System.Diagnostics;
using Raft.Core.Messages;

namespace Raft.Storage.Faster.Internal;

// Where each live entry is: its record's address and length, its term, and the entry itself while it is cached.
internal struct Slot
{
    public long Address;
    public long Term;
    public int Length;
    public Entry? Cached;
}

// The index -> slot table of the live log, in fixed-size chunks (no large-array copies while it grows, and the
// prefix is dropped chunk by chunk on compaction).
// A chunk is 128 KiB, on the large-object heap: dropped chunks are cleared and kept for reuse (a few), because a
// log that appends and compacts steadily would otherwise allocate a large object every 4,096 entries, and large-object
// allocations start gen2 collections (about one a second per node in the Orleans benchmark before this).
// Invariant: the slot of index i (First <= i <= Last) is _chunks[(i - _chunkBase) >> Shift][(i - _chunkBase) & Mask].
internal sealed class SlotTable
{
    private const int Shift = 12;
    private const int ChunkSize = 1 << Shift;
    private const int Mask = ChunkSize - 1;
    private const int MaxSpareChunks = 4;

    private readonly List<Slot[]> _chunks = [];
    private readonly Stack<Slot[]> _spare = new();
    private long _chunkBase;

    public SlotTable(long firstIndex)
    {
        Reset(firstIndex);
    }

    public long First { get; private set; }

    public long Last { get; private set; }

    public ref Slot this[long index]
    {
        get
        {
            Debug.Assert(index >= First && index <= Last, "index out of the table");
            var offset = index - _chunkBase;
            return ref _chunks[(int)(offset >> Shift)][offset & Mask];
        }
    }

    // Empties the table; the next index added is firstIndex.
    public void Reset(long firstIndex)
    {
        Recycle(0, _chunks.Count);
        _chunkBase = firstIndex;
        First = firstIndex;
        Last = firstIndex - 1;
    }

    public void Add(in Slot slot)
    {
        var offset = Last + 1 - _chunkBase;
        if ((offset >> Shift) == _chunks.Count)
        {
            _chunks.Add(_spare.TryPop(out var spare) ? spare : new Slot[ChunkSize]);
        }

        Last++;
        this[Last] = slot;
    }

    // Drops the entries from `index` on.
    public void TruncateFrom(long index)
    {
        Debug.Assert(index >= First && index <= Last + 1, "truncation point out of the table");
        for (var i = index; i <= Last; i++)
        {
            this[i] = default;
        }

        Last = index - 1;
        var chunksNeeded = (int)((Last - _chunkBase + ChunkSize) >> Shift);
        if (chunksNeeded < _chunks.Count)
        {
            Recycle(chunksNeeded, _chunks.Count - chunksNeeded);
        }
    }

    // Drops the entries before `index` (at most Last + 1).
    public void RemovePrefix(long index)
    {
        Debug.Assert(index >= First && index <= Last + 1, "compaction point out of the table");
        // Whole chunks before `index` go; in the chunk that stays, the dropped slots are cleared for the GC.
        var keptChunkStart = _chunkBase + (((index - _chunkBase) >> Shift) << Shift);
        for (var i = Math.Max(First, keptChunkStart); i < index; i++)
        {
            this[i] = default;
        }

        First = index;
        var whole = (int)((index - _chunkBase) >> Shift);
        if (whole > 0)
        {
            Recycle(0, Math.Min(whole, _chunks.Count));
            _chunkBase += (long)whole << Shift;
        }

        if (Last < First)
        {
            Reset(index);
        }
    }

    // Removes `count` chunks from `start` on, keeping a few, cleared (no cached entry stays reachable), for Add.
    private void Recycle(int start, int count)
    {
        for (var i = start; i < start + count && _spare.Count < MaxSpareChunks; i++)
        {
            Array.Clear(_chunks[i]);
            _spare.Push(_chunks[i]);
        }

        _chunks.RemoveRange(start, count);
    }
}
