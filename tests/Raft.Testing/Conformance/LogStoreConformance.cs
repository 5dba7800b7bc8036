using System.Text;
using Raft.Core.Messages;
using Raft.Core.Storage;
using Xunit;

namespace Raft.Testing.Conformance;

/// <summary>
/// The <see cref="ILogStore"/> contract as tests: every log store implementation inherits this class and passes it.
/// </summary>
/// <remarks>
/// Derived classes create a fresh, empty store per call of <see cref="CreateAsync"/> and dispose what they created
/// (implement <see cref="IDisposable"/> or <see cref="IAsyncLifetime"/>; xunit creates one instance per test).
/// Durable stores override <see cref="ReopenAsync"/> to close the store and open it again from its storage, which is
/// how the suite checks durability; in-memory stores keep the default, which returns the same instance.
/// </remarks>
public abstract class LogStoreConformance
{
    /// <summary>Creates a new, empty store.</summary>
    /// <returns>The store.</returns>
    protected abstract ValueTask<ILogStore> CreateAsync();

    /// <summary>Closes <paramref name="store"/> and opens the same storage again, as after a restart.</summary>
    /// <param name="store">A store returned by <see cref="CreateAsync"/> or by this method; not used afterwards.</param>
    /// <returns>The reopened store.</returns>
    protected virtual ValueTask<ILogStore> ReopenAsync(ILogStore store) => ValueTask.FromResult(store);

    /// <summary>Creates an entry whose payload is the UTF-8 of <paramref name="data"/>.</summary>
    /// <param name="index">The index.</param>
    /// <param name="term">The term.</param>
    /// <param name="data">The payload text; by default one derived from index and term.</param>
    /// <returns>The entry.</returns>
    protected static Entry NewEntry(long index, long term, string? data = null) =>
        new(index, term, EntryType.Normal, Encoding.UTF8.GetBytes(data ?? $"cmd-{term}-{index}"));

    /// <summary>Creates consecutive entries [<paramref name="from"/>, <paramref name="to"/>] in <paramref name="term"/>.</summary>
    /// <param name="from">The first index.</param>
    /// <param name="to">The last index.</param>
    /// <param name="term">The term of every entry.</param>
    /// <returns>The entries.</returns>
    protected static Entry[] NewEntries(long from, long to, long term) =>
        [.. Enumerable.Range(0, (int)(to - from + 1)).Select(i => NewEntry(from + i, term))];

    [Fact]
    public async Task NewStore_IsEmpty()
    {
        var store = await CreateAsync();

        Assert.Equal(1, store.FirstIndex);
        Assert.Equal(0, store.LastIndex);
    }

    [Fact]
    public async Task Append_ThenRead_ReturnsTheSameEntries()
    {
        var store = await CreateAsync();
        var entries = NewEntries(1, 5, term: 1);

        await store.AppendAsync(entries);

        Assert.Equal(1, store.FirstIndex);
        Assert.Equal(5, store.LastIndex);
        RaftAssert.EntriesEqual(entries, await store.ReadAsync(1, 5));
    }

    [Fact]
    public async Task Append_ConsecutiveBatches_ExtendTheLog()
    {
        var store = await CreateAsync();

        await store.AppendAsync(NewEntries(1, 3, term: 1));
        await store.AppendAsync(NewEntries(4, 4, term: 1));
        await store.AppendAsync(NewEntries(5, 9, term: 2));

        Assert.Equal(9, store.LastIndex);
        RaftAssert.EntriesEqual([.. NewEntries(1, 4, 1), .. NewEntries(5, 9, 2)], await store.ReadAsync(1, 9));
    }

    [Fact]
    public async Task Append_Empty_ChangesNothing()
    {
        var store = await CreateAsync();
        await store.AppendAsync([]);
        Assert.Equal(0, store.LastIndex);

        await store.AppendAsync(NewEntries(1, 3, term: 1));
        await store.AppendAsync([]);

        Assert.Equal(3, store.LastIndex);
        RaftAssert.EntriesEqual(NewEntries(1, 3, 1), await store.ReadAsync(1, 3));
    }

    // §5.3: a follower deletes a conflicting entry and all that follow it, then appends the leader's.
    [Fact]
    public async Task Append_AtAnExistingIndex_ReplacesTheSuffix()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 5, term: 1));

        await store.AppendAsync(NewEntries(3, 4, term: 2));

        Assert.Equal(4, store.LastIndex);
        RaftAssert.EntriesEqual([.. NewEntries(1, 2, 1), .. NewEntries(3, 4, 2)], await store.ReadAsync(1, 4));
    }

    [Fact]
    public async Task Append_ShorterSuffix_DropsEverythingAfterIt()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 10, term: 1));

        await store.AppendAsync([NewEntry(5, 3)]);

        Assert.Equal(5, store.LastIndex);
        RaftAssert.EntriesEqual([.. NewEntries(1, 4, 1), NewEntry(5, 3)], await store.ReadAsync(1, 5));
    }

    [Fact]
    public async Task Append_LongerSuffix_ReplacesAndExtends()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 4, term: 1));

        await store.AppendAsync(NewEntries(3, 8, term: 2));

        Assert.Equal(8, store.LastIndex);
        RaftAssert.EntriesEqual([.. NewEntries(1, 2, 1), .. NewEntries(3, 8, 2)], await store.ReadAsync(1, 8));
    }

    [Fact]
    public async Task Append_AtIndexOne_ReplacesTheWholeLog()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 6, term: 1));

        await store.AppendAsync(NewEntries(1, 2, term: 2));

        Assert.Equal(2, store.LastIndex);
        RaftAssert.EntriesEqual(NewEntries(1, 2, 2), await store.ReadAsync(1, 2));
    }

    [Fact]
    public async Task Append_AfterAReplacement_ContinuesFromTheNewEnd()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 6, term: 1));
        await store.AppendAsync(NewEntries(4, 4, term: 2));

        await store.AppendAsync(NewEntries(5, 7, term: 2));

        Assert.Equal(7, store.LastIndex);
        RaftAssert.EntriesEqual([.. NewEntries(1, 3, 1), .. NewEntries(4, 7, 2)], await store.ReadAsync(1, 7));
    }

    [Fact]
    public async Task Append_LeavingAHoleInAnEmptyLog_ThrowsAndKeepsTheLog()
    {
        var store = await CreateAsync();

        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await store.AppendAsync(NewEntries(2, 3, term: 1)));

        Assert.Equal(0, store.LastIndex);
    }

    [Fact]
    public async Task Append_LeavingAHole_ThrowsAndKeepsTheLog()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 3, term: 1));

        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await store.AppendAsync(NewEntries(5, 6, term: 1)));

        Assert.Equal(3, store.LastIndex);
        RaftAssert.EntriesEqual(NewEntries(1, 3, 1), await store.ReadAsync(1, 3));
    }

    [Fact]
    public async Task Append_NonConsecutiveEntries_ThrowsAndKeepsTheLog()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 3, term: 1));

        await Assert.ThrowsAnyAsync<ArgumentException>(
            async () => await store.AppendAsync([NewEntry(4, 1), NewEntry(5, 1), NewEntry(7, 1)]));

        Assert.Equal(3, store.LastIndex);
        RaftAssert.EntriesEqual(NewEntries(1, 3, 1), await store.ReadAsync(1, 3));
    }

    [Fact]
    public async Task Append_RepeatedIndexInOneBatch_ThrowsAndKeepsTheLog()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 2, term: 1));

        await Assert.ThrowsAnyAsync<ArgumentException>(
            async () => await store.AppendAsync([NewEntry(3, 1), NewEntry(3, 1)]));

        Assert.Equal(2, store.LastIndex);
    }

    [Fact]
    public async Task Append_IndexZero_Throws()
    {
        var store = await CreateAsync();

        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await store.AppendAsync([NewEntry(0, 1)]));

        Assert.Equal(0, store.LastIndex);
    }

    [Fact]
    public async Task Read_ASubRange_ReturnsExactlyThoseEntries()
    {
        var store = await CreateAsync();
        var entries = NewEntries(1, 20, term: 1);
        await store.AppendAsync(entries);

        RaftAssert.EntriesEqual(entries[4..12], await store.ReadAsync(5, 12));
        RaftAssert.EntriesEqual(entries[19..], await store.ReadAsync(20, 20));
        RaftAssert.EntriesEqual(entries[..1], await store.ReadAsync(1, 1));
    }

    [Fact]
    public async Task Read_OutsideTheLog_ThrowsArgumentOutOfRange()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 5, term: 1));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.ReadAsync(0, 3));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.ReadAsync(3, 6));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.ReadAsync(6, 9));
    }

    [Fact]
    public async Task Entries_KeepTheirTermTypeAndPayload()
    {
        var store = await CreateAsync();
        var allBytes = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        Entry[] entries =
        [
            new(1, 1, EntryType.NoOp, ReadOnlyMemory<byte>.Empty),
            new(2, 1, EntryType.Normal, allBytes),
            new(3, 2, EntryType.ConfigChange, new byte[] { 1, 2, 3 }),
            new(4, 2, EntryType.Normal, ReadOnlyMemory<byte>.Empty),
            new(5, long.MaxValue / 2, EntryType.Normal, new byte[] { 0 }),
        ];

        await store.AppendAsync(entries);

        RaftAssert.EntriesEqual(entries, await store.ReadAsync(1, 5));
    }

    [Fact]
    public async Task Append_PayloadSlicedFromALargerBuffer_StoresOnlyTheSlice()
    {
        var store = await CreateAsync();
        var buffer = Encoding.UTF8.GetBytes("xxhelloyy");

        await store.AppendAsync([new Entry(1, 1, EntryType.Normal, buffer.AsMemory(2, 5))]);

        var read = await store.ReadAsync(1, 1);
        Assert.Equal("hello", Encoding.UTF8.GetString(read[0].Data.Span));
    }

    [Fact]
    public async Task Append_AOneMebibyteEntry_RoundTrips()
    {
        var store = await CreateAsync();
        var payload = new byte[1024 * 1024];
        new Random(42).NextBytes(payload);
        var entry = new Entry(1, 1, EntryType.Normal, payload);

        await store.AppendAsync([entry]);

        RaftAssert.EntryEqual(entry, (await store.ReadAsync(1, 1))[0]);
    }

    [Fact]
    public async Task Append_TenThousandEntries_AllReadable()
    {
        var store = await CreateAsync();
        const int total = 10_000;
        for (var from = 1; from <= total; from += 100)
        {
            await store.AppendAsync(NewEntries(from, from + 99, term: 1 + (from / 2500)));
        }

        Assert.Equal(total, store.LastIndex);
        var all = await store.ReadAsync(1, total);
        Assert.Equal(total, all.Count);
        for (var i = 0; i < total; i++)
        {
            Assert.Equal(i + 1, all[i].Index);
            Assert.Equal($"cmd-{all[i].Term}-{i + 1}", Encoding.UTF8.GetString(all[i].Data.Span));
        }

        RaftAssert.EntriesEqual(NewEntries(4321, 4330, 1 + (4301 / 2500)), await store.ReadAsync(4321, 4330));
    }

    [Fact]
    public async Task Read_ConcurrentWithAppends_SeesAConsecutivePrefix()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 1, term: 1));
        using var done = new CancellationTokenSource();

        var reader = Task.Run(async () =>
        {
            var reads = 0;
            while (!done.IsCancellationRequested || reads == 0)
            {
                var last = store.LastIndex;
                var entries = await store.ReadAsync(1, last);
                Assert.Equal(last, entries.Count);
                for (var i = 0; i < entries.Count; i++)
                {
                    Assert.Equal(i + 1, entries[i].Index);
                }

                reads++;
            }
        });

        for (var from = 2; from < 2000; from += 10)
        {
            await store.AppendAsync(NewEntries(from, from + 9, term: 1));
        }

        await done.CancelAsync();
        await reader;
    }

    [Fact]
    public async Task Reopen_AfterAppends_KeepsEveryEntry()
    {
        var store = await CreateAsync();
        var entries = NewEntries(1, 50, term: 3);
        await store.AppendAsync(entries[..20]);
        await store.AppendAsync(entries[20..]);

        store = await ReopenAsync(store);

        Assert.Equal(1, store.FirstIndex);
        Assert.Equal(50, store.LastIndex);
        RaftAssert.EntriesEqual(entries, await store.ReadAsync(1, 50));
    }

    [Fact]
    public async Task Reopen_AfterASuffixReplacement_KeepsOnlyTheNewSuffix()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 10, term: 1));
        await store.AppendAsync(NewEntries(6, 7, term: 2));

        store = await ReopenAsync(store);

        Assert.Equal(7, store.LastIndex);
        RaftAssert.EntriesEqual([.. NewEntries(1, 5, 1), .. NewEntries(6, 7, 2)], await store.ReadAsync(1, 7));
    }

    [Fact]
    public async Task Reopen_ThenAppend_ContinuesTheLog()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 5, term: 1));
        store = await ReopenAsync(store);

        await store.AppendAsync(NewEntries(6, 8, term: 2));
        store = await ReopenAsync(store);

        Assert.Equal(8, store.LastIndex);
        RaftAssert.EntriesEqual([.. NewEntries(1, 5, 1), .. NewEntries(6, 8, 2)], await store.ReadAsync(1, 8));
    }

    [Fact]
    public async Task Reopen_AnEmptyStore_IsStillEmpty()
    {
        var store = await CreateAsync();

        store = await ReopenAsync(store);

        Assert.Equal(1, store.FirstIndex);
        Assert.Equal(0, store.LastIndex);
    }

    // §7: entries a snapshot covers may go, lazily (a store may keep whole segments), but never those after it.
    [Fact]
    public async Task Compact_ThroughAnIndex_KeepsEveryLaterEntryAndMovesFirstIndexAtMostPastIt()
    {
        var store = await CreateAsync();
        var entries = NewEntries(1, 100, term: 2);
        await store.AppendAsync(entries);

        await store.CompactAsync(60);

        Assert.InRange(store.FirstIndex, 1, 61);
        Assert.Equal(100, store.LastIndex);
        RaftAssert.EntriesEqual(entries[60..], await store.ReadAsync(61, 100));
        RaftAssert.EntriesEqual(entries[(int)(store.FirstIndex - 1)..], await store.ReadAsync(store.FirstIndex, 100));
    }

    [Fact]
    public async Task Compact_ThenAppend_ContinuesTheLog()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 50, term: 1));
        await store.CompactAsync(40);

        await store.AppendAsync(NewEntries(51, 60, term: 2));

        Assert.InRange(store.FirstIndex, 1, 41);
        Assert.Equal(60, store.LastIndex);
        RaftAssert.EntriesEqual([.. NewEntries(41, 50, 1), .. NewEntries(51, 60, 2)], await store.ReadAsync(41, 60));
    }

    [Fact]
    public async Task Compact_ThenReplaceASuffixAfterIt_Works()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 50, term: 1));
        await store.CompactAsync(30);

        await store.AppendAsync(NewEntries(45, 47, term: 2));

        Assert.Equal(47, store.LastIndex);
        RaftAssert.EntriesEqual([.. NewEntries(31, 44, 1), .. NewEntries(45, 47, 2)], await store.ReadAsync(31, 47));
    }

    [Fact]
    public async Task Compact_AgainOrBehindTheFirstIndex_ChangesNothingElse()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 30, term: 1));
        await store.CompactAsync(20);
        var first = store.FirstIndex;

        await store.CompactAsync(20);
        await store.CompactAsync(5);

        Assert.Equal(first, store.FirstIndex);
        Assert.Equal(30, store.LastIndex);
        RaftAssert.EntriesEqual(NewEntries(21, 30, 1), await store.ReadAsync(21, 30));
    }

    [Fact]
    public async Task Compact_ManyTimesWhileAppending_KeepsTheTailReadable()
    {
        var store = await CreateAsync();
        for (var from = 1; from <= 5000; from += 100)
        {
            await store.AppendAsync(NewEntries(from, from + 99, term: 1));
            await store.CompactAsync(from + 49);
        }

        Assert.InRange(store.FirstIndex, 1, 4951);
        Assert.Equal(5000, store.LastIndex);
        RaftAssert.EntriesEqual(NewEntries(4951, 5000, 1), await store.ReadAsync(4951, 5000));
    }

    [Fact]
    public async Task Reopen_AfterCompaction_KeepsTheEntriesAfterIt()
    {
        var store = await CreateAsync();
        var entries = NewEntries(1, 80, term: 3);
        await store.AppendAsync(entries);
        await store.CompactAsync(50);

        store = await ReopenAsync(store);

        Assert.InRange(store.FirstIndex, 1, 51);
        Assert.Equal(80, store.LastIndex);
        RaftAssert.EntriesEqual(entries[50..], await store.ReadAsync(51, 80));
    }

    // A follower installing a snapshot from the leader discards its whole log (§7).
    [Fact]
    public async Task Reset_EmptiesTheLogAndTheNextAppendStartsAfterTheSnapshotIndex()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 10, term: 1));

        await store.ResetAsync(100);

        Assert.Equal(101, store.FirstIndex);
        Assert.Equal(100, store.LastIndex);
        await store.AppendAsync(NewEntries(101, 105, term: 4));
        Assert.Equal(101, store.FirstIndex);
        Assert.Equal(105, store.LastIndex);
        RaftAssert.EntriesEqual(NewEntries(101, 105, 4), await store.ReadAsync(101, 105));
    }

    [Fact]
    public async Task Reset_ToAnIndexInsideTheLog_DropsEveryEntry()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 20, term: 1));

        await store.ResetAsync(8);

        Assert.Equal(9, store.FirstIndex);
        Assert.Equal(8, store.LastIndex);
        await store.AppendAsync(NewEntries(9, 9, term: 2));
        RaftAssert.EntriesEqual(NewEntries(9, 9, 2), await store.ReadAsync(9, 9));
    }

    [Fact]
    public async Task Reset_OnAnEmptyStore_StartsTheLogAfterTheSnapshotIndex()
    {
        var store = await CreateAsync();

        await store.ResetAsync(5000);

        Assert.Equal(5001, store.FirstIndex);
        Assert.Equal(5000, store.LastIndex);
        await store.AppendAsync(NewEntries(5001, 5003, term: 7));
        RaftAssert.EntriesEqual(NewEntries(5001, 5003, 7), await store.ReadAsync(5001, 5003));
    }

    [Fact]
    public async Task Reset_ThenAppendLeavingAHole_ThrowsAndKeepsTheLog()
    {
        var store = await CreateAsync();
        await store.ResetAsync(100);

        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await store.AppendAsync(NewEntries(103, 104, term: 1)));

        Assert.Equal(100, store.LastIndex);
    }

    [Fact]
    public async Task Reopen_AfterAResetAndAppends_KeepsTheNewLog()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 30, term: 1));
        await store.ResetAsync(200);
        await store.AppendAsync(NewEntries(201, 210, term: 5));

        store = await ReopenAsync(store);

        Assert.Equal(201, store.FirstIndex);
        Assert.Equal(210, store.LastIndex);
        RaftAssert.EntriesEqual(NewEntries(201, 210, 5), await store.ReadAsync(201, 210));
        await store.AppendAsync(NewEntries(211, 212, term: 5));
        Assert.Equal(212, store.LastIndex);
    }

    [Fact]
    public async Task Reopen_AfterAResetWithoutAppends_IsEmptyAfterTheSnapshotIndex()
    {
        var store = await CreateAsync();
        await store.AppendAsync(NewEntries(1, 30, term: 1));
        await store.ResetAsync(50);

        store = await ReopenAsync(store);

        Assert.Equal(51, store.FirstIndex);
        Assert.Equal(50, store.LastIndex);
    }

    [Fact]
    public async Task Reset_ThenCompact_KeepsTheEntriesAfterIt()
    {
        var store = await CreateAsync();
        await store.ResetAsync(10);
        await store.AppendAsync(NewEntries(11, 40, term: 2));

        await store.CompactAsync(30);

        Assert.InRange(store.FirstIndex, 11, 31);
        Assert.Equal(40, store.LastIndex);
        RaftAssert.EntriesEqual(NewEntries(31, 40, 2), await store.ReadAsync(31, 40));
    }
}
