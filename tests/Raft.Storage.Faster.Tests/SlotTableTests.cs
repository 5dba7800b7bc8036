using System.Runtime.CompilerServices;
using Raft.Core.Messages;
using Raft.Storage.Faster.Internal;

namespace Raft.Storage.Faster.Tests;

// The log store's index -> slot table: chunked, compacted from the front, truncated from the back, and steady in
// memory: a log that appends and compacts at the same pace reuses its chunks instead of allocating new ones.
public sealed class SlotTableTests
{
    [Fact]
    public void Slots_AcrossChunkBoundaries_AfterCompactionAndTruncation_AreTheOnesAdded()
    {
        var table = new SlotTable(firstIndex: 1);
        AddThrough(table, 10_000);

        table.RemovePrefix(5_000);
        table.TruncateFrom(9_000);
        AddThrough(table, 12_000);

        Assert.Equal((5_000L, 12_000L), (table.First, table.Last));
        for (var i = table.First; i <= table.Last; i++)
        {
            Assert.Equal(i * 10, table[i].Address);
        }
    }

    [Fact]
    public void CompactedEntries_AreNotKeptAliveByTheChunksKeptForReuse()
    {
        var table = new SlotTable(firstIndex: 1);
        var dropped = AddCachedEntries(table, 8_192); // two whole chunks

        table.RemovePrefix(8_193); // both go to the spares
        GC.Collect();
        GC.WaitForPendingFinalizers();

        Assert.False(dropped.TryGetTarget(out _));
    }

    [Fact]
    public void SteadyAppendAndCompaction_ReusesItsChunks()
    {
        var table = new SlotTable(firstIndex: 1);
        long next = 1;
        void Round()
        {
            // 10,000 entries appended, then compaction to the newest 1,024 (a snapshot every 10,000 entries).
            for (var i = 0; i < 10_000; i++, next++)
            {
                table.Add(new Slot { Address = next * 10, Term = 1, Length = 8 });
            }

            table.RemovePrefix(table.Last - 1_023);
        }

        Round();
        Round();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var round = 0; round < 20; round++)
        {
            Round();
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // A chunk is 128 KiB; 200,000 entries take 49 of them without reuse. With it, a new chunk is needed only when
        // the compaction point falls so that the live entries span one chunk more than they did before.
        Assert.True(allocated < 2 * 128 * 1024, $"allocated {allocated} bytes over 20 rounds");
    }

    // Adds entries 1..count with cached entries; returns a weak reference to one of them.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference<Entry> AddCachedEntries(SlotTable table, long count)
    {
        AddThrough(table, count);
        return new WeakReference<Entry>(table[count / 2].Cached!);
    }

    private static void AddThrough(SlotTable table, long last)
    {
        for (var i = table.Last + 1; i <= last; i++)
        {
            table.Add(new Slot { Address = i * 10, Term = 1, Length = 8, Cached = new Entry(i, 1, EntryType.Normal, default) });
        }
    }
}
