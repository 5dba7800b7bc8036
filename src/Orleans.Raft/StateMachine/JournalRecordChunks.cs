using System.Diagnostics;

namespace Orleans.Raft.StateMachine;

// The records of one journal incarnation: fixed-size chunks reached through a directory, so an append writes into
// free slots (amortized O(1), no copy of the history) while readers read the same chunks without a lock.
//
// One writer (the applier) and any number of readers. A reader holds a StoredJournal, which captured a directory and a
// record count when it was published; the slots below that count are never written again, and an append only writes
// slots at or above the count of the journal's newest StoredJournal, so what a reader sees never changes under it.
// Growing the directory or trimming copies only the directory (one reference per 256 records) into a new array and
// leaves the old one to the readers that still hold it.
internal sealed class JournalRecordChunks
{
    public static readonly JournalRecordChunks Empty = new([], 0);

    private const int ChunkShift = 8;
    private const int ChunkSize = 1 << ChunkShift;
    private const int ChunkMask = ChunkSize - 1;

    // _directory[i] holds the records of logical chunk _firstChunk + i; record n is in logical chunk n >> ChunkShift.
    private readonly ReadOnlyMemory<byte>[]?[] _directory;
    private readonly long _firstChunk;

    private JournalRecordChunks(ReadOnlyMemory<byte>[]?[] directory, long firstChunk)
    {
        _directory = directory;
        _firstChunk = firstChunk;
    }

    /// <summary>The record at logical index <paramref name="index"/>, which the caller knows is held and published.</summary>
    public ReadOnlyMemory<byte> this[long index]
    {
        get
        {
            var chunk = _directory[(index >> ChunkShift) - _firstChunk];
            Debug.Assert(chunk is not null, "A published record lives in an allocated chunk.");
            return chunk![index & ChunkMask];
        }
    }

    /// <summary>
    /// Writes <paramref name="records"/> at logical indexes <paramref name="count"/>, <paramref name="count"/> + 1, ...
    /// Applier only; <paramref name="count"/> must be the record count of the journal's newest published state.
    /// </summary>
    /// <returns>The chunks to publish with the new count (this instance unless the directory had to grow).</returns>
    public JournalRecordChunks Append(long count, IReadOnlyList<ReadOnlyMemory<byte>> records)
    {
        var directory = _directory;
        foreach (var record in records)
        {
            var slot = (count >> ChunkShift) - _firstChunk;
            if (slot >= directory.Length)
            {
                var grown = new ReadOnlyMemory<byte>[]?[Math.Max(4, directory.Length * 2)];
                Array.Copy(directory, grown, directory.Length);
                directory = grown;
            }

            var chunk = directory[slot] ??= new ReadOnlyMemory<byte>[ChunkSize];
            chunk[count & ChunkMask] = record;
            count++;
        }

        return ReferenceEquals(directory, _directory) ? this : new JournalRecordChunks(directory, _firstChunk);
    }

    /// <summary>Chunks without the ones that hold only records below <paramref name="firstRetained"/> (a new directory).</summary>
    public JournalRecordChunks TrimBelow(long firstRetained)
    {
        var firstChunk = firstRetained >> ChunkShift;
        var drop = firstChunk - _firstChunk;
        if (drop <= 0)
        {
            return this;
        }

        if (drop >= _directory.Length)
        {
            return new JournalRecordChunks([], firstChunk);
        }

        var kept = new ReadOnlyMemory<byte>[]?[_directory.Length - drop];
        Array.Copy(_directory, drop, kept, 0, kept.Length);
        return new JournalRecordChunks(kept, firstChunk);
    }
}
