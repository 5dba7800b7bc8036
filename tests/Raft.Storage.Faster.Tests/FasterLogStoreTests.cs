using System.Text;
using Raft.Core.Messages;
using Raft.Testing.Conformance;

namespace Raft.Storage.Faster.Tests;

public sealed class FasterLogStoreTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Append_ABatch_WithBufferedWrites_IsOneFdatasync()
    {
        await using var store = await OpenAsync(TestOptions.Log(_directory.Path) with { DirectWrites = false });
        var before = store.SyncCount;

        await store.AppendAsync(Entries(1, 256, term: 1));
        await store.AppendAsync(Entries(257, 257, term: 1));

        Assert.Equal(before + 2, store.SyncCount);
        Assert.Equal(0, store.DirectWriteCount);
    }

    // The default on Linux: each batch is one O_DIRECT | O_DSYNC write, durable when it returns, and no fdatasync.
    [Fact]
    public async Task Append_ABatch_WithDirectWrites_IsOneDirectWriteAndNoFdatasync()
    {
        await using var store = await OpenAsync();
        Assert.True(store.WritesDirect || !OperatingSystem.IsLinux(), "direct writes were refused on Linux");
        var syncs = store.SyncCount;
        var writes = store.DirectWriteCount;

        await store.AppendAsync(Entries(1, 256, term: 1));
        await store.AppendAsync(Entries(257, 257, term: 1));

        Assert.False(store.HasUnsyncedWrites);
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(syncs, store.SyncCount);
            Assert.Equal(writes + 2, store.DirectWriteCount);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Append_IsDurableBeforeItReturns_WithoutAThreadPoolHop(bool directWrites)
    {
        await using var store = await OpenAsync(TestOptions.Log(_directory.Path) with { DirectWrites = directWrites });
        await store.AppendAsync(Entries(1, 1, term: 1));
        var before = store.SyncCount + store.DirectWriteCount;

        // The flush and its fdatasync, or its direct write, run on the caller's thread: the append has completed, durably,
        // when the call returns.
        var append = store.AppendAsync(Entries(2, 65, term: 1));

        Assert.True(append.IsCompletedSuccessfully);
        await append;
        Assert.False(store.HasUnsyncedWrites);
        Assert.Equal(before + 1, store.SyncCount + store.DirectWriteCount);
        Assert.Equal(65, store.LastIndex);
    }

    [Fact]
    public async Task Append_AnEntryLargerThanAPage_IsRejectedWithAClearMessage()
    {
        await using var store = await OpenAsync(TestOptions.Tiny(_directory.Path));
        var tooLarge = new Entry(1, 1, EntryType.Normal, new byte[store.MaxEntrySize + 1]);

        var error = await Assert.ThrowsAsync<ArgumentException>(async () => await store.AppendAsync([tooLarge]));

        Assert.Contains("PageSize", error.Message, StringComparison.Ordinal);
        Assert.Equal(0, store.LastIndex);
        await store.AppendAsync([new Entry(1, 1, EntryType.Normal, new byte[store.MaxEntrySize])]);
        Assert.Equal(store.MaxEntrySize, (await store.ReadAsync(1, 1))[0].Data.Length);
    }

    [Fact]
    public async Task Append_DecreasingTerm_IsRejected()
    {
        await using var store = await OpenAsync();
        await store.AppendAsync(Entries(1, 3, term: 5));

        await Assert.ThrowsAsync<ArgumentException>(async () => await store.AppendAsync(Entries(4, 4, term: 4)));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.AppendAsync([Entry(4, 5), Entry(5, 4)]));

        Assert.Equal(3, store.LastIndex);
    }

    [Fact]
    public async Task Open_ASecondStoreOnTheSameDirectory_FailsClearly()
    {
        await using var store = await OpenAsync();

        var error = await Assert.ThrowsAsync<IOException>(() => OpenAsync());

        Assert.Contains("in use", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_WithADifferentPageSize_IsRefused()
    {
        await (await OpenAsync()).DisposeAsync();

        var error = await Assert.ThrowsAsync<ArgumentException>(() => OpenAsync(TestOptions.Log(_directory.Path) with { PageSize = 1L << 20 }));

        Assert.Contains("PageSize 2097152", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Compact_MovesFirstIndexAndKeepsEverythingAfter()
    {
        await using var store = await OpenAsync();
        await store.AppendAsync(Entries(1, 100, term: 1));

        await store.CompactAsync(40);

        Assert.Equal(41, store.FirstIndex);
        Assert.Equal(100, store.LastIndex);
        RaftAssert.EntriesEqual(Entries(41, 100, 1), await store.ReadAsync(41, 100));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.ReadAsync(40, 41));
    }

    [Fact]
    public async Task Compact_ThroughTheLastIndex_KeepsTheLastEntry()
    {
        await using var store = await OpenAsync();
        await store.AppendAsync(Entries(1, 10, term: 2));

        await store.CompactAsync(50);

        Assert.Equal(10, store.FirstIndex);
        Assert.Equal(10, store.LastIndex);
        await store.AppendAsync(Entries(11, 12, term: 3));
        RaftAssert.EntriesEqual([Entry(10, 2), .. Entries(11, 12, 3)], await store.ReadAsync(10, 12));
    }

    [Fact]
    public async Task Compact_BeforeTheStart_ChangesNothing()
    {
        await using var store = await OpenAsync();
        await store.AppendAsync(Entries(1, 10, term: 1));
        await store.CompactAsync(5);

        await store.CompactAsync(3);
        await store.CompactAsync(0);

        Assert.Equal(6, store.FirstIndex);
    }

    // Direct writes declare 4 KiB sectors, and FASTER must align every write to them: one that is not fails the store.
    // Odd entry sizes over tiny pages and segments make page paddings, partial sectors and segment switches.
    [Fact]
    public async Task Append_WithDirectWrites_OfOddSizesAcrossPagesAndSegments_ReadsBackAfterReopen()
    {
        var options = TestOptions.Tiny(_directory.Path) with { DirectWrites = true };
        var expected = new List<Entry>();
        await using (var store = await OpenAsync(options))
        {
            var next = 1L;
            for (var batch = 0; batch < 120; batch++)
            {
                var entries = Enumerable.Range(0, 1 + (batch % 7))
                    .Select(i => Entry(next + i, 1, size: 1 + ((batch * 131) + (i * 17)) % 3000))
                    .ToArray();
                await store.AppendAsync(entries);
                expected.AddRange(entries);
                next += entries.Length;
            }

            Assert.True(store.WritesDirect || !OperatingSystem.IsLinux(), "direct writes were refused on Linux");
            Assert.True(store.DirectWriteCount >= 120 || !OperatingSystem.IsLinux(), $"only {store.DirectWriteCount} direct writes");
        }

        await using var reopened = await OpenAsync(options);
        RaftAssert.EntriesEqual(expected, await reopened.ReadAsync(1, expected.Count));
    }

    [Fact]
    public async Task Compact_DeletesWholeSegmentFiles()
    {
        await using var store = await OpenAsync(TestOptions.Tiny(_directory.Path));
        for (var i = 1; i <= 2000; i += 50)
        {
            await store.AppendAsync(Entries(i, i + 49, term: 1, size: 500));
        }

        var before = SegmentFiles();
        await store.CompactAsync(1900);

        await Eventually.TrueAsync(() => SegmentFiles() < before - 3, $"segments deleted (had {before}, now {SegmentFiles()})");
        Assert.Equal(1901, store.FirstIndex);
        RaftAssert.EntriesEqual(Entries(1901, 2000, 1, size: 500), await store.ReadAsync(1901, 2000));
    }

    [Fact]
    public async Task Append_ReplacingASuffixAfterCompaction_Works()
    {
        await using var store = await OpenAsync();
        await store.AppendAsync(Entries(1, 20, term: 1));
        await store.CompactAsync(10);

        await store.AppendAsync(Entries(11, 15, term: 2));

        Assert.Equal(11, store.FirstIndex);
        Assert.Equal(15, store.LastIndex);
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.AppendAsync(Entries(10, 10, term: 3)));
    }

    [Fact]
    public async Task Reset_EmptiesTheLogAtTheSnapshotIndex()
    {
        await using var store = await OpenAsync();
        await store.AppendAsync(Entries(1, 30, term: 1));

        await store.ResetAsync(100);

        Assert.Equal(101, store.FirstIndex);
        Assert.Equal(100, store.LastIndex);
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.AppendAsync(Entries(102, 103, term: 4)));
        await store.AppendAsync(Entries(101, 103, term: 4));
        RaftAssert.EntriesEqual(Entries(101, 103, 4), await store.ReadAsync(101, 103));
    }

    [Fact]
    public async Task Reset_BelowTheLastIndex_DiscardsEverything()
    {
        await using var store = await OpenAsync();
        await store.AppendAsync(Entries(1, 30, term: 1));

        await store.ResetAsync(10);

        Assert.Equal(11, store.FirstIndex);
        Assert.Equal(10, store.LastIndex);
    }

    [Fact]
    public async Task Reopen_AfterCompactionsTruncationsAndResets_RestoresEverything()
    {
        var store = await OpenAsync(TestOptions.Tiny(_directory.Path));
        await store.AppendAsync(Entries(1, 300, term: 1, size: 200));
        await store.CompactAsync(120);
        await store.AppendAsync(Entries(250, 260, term: 2));
        await store.ResetAsync(500);
        await store.AppendAsync(Entries(501, 600, term: 3, size: 100));
        await store.AppendAsync(Entries(590, 620, term: 4));
        await store.CompactAsync(550);
        Entry[] expected = [.. Entries(551, 589, 3, size: 100), .. Entries(590, 620, 4)];

        await store.DisposeAsync();
        store = await OpenAsync(TestOptions.Tiny(_directory.Path));

        Assert.Equal(551, store.FirstIndex);
        Assert.Equal(620, store.LastIndex);
        RaftAssert.EntriesEqual(expected, await store.ReadAsync(551, 620));
        await store.AppendAsync(Entries(621, 621, term: 4));
        await store.DisposeAsync();
        store = await OpenAsync(TestOptions.Tiny(_directory.Path));
        RaftAssert.EntriesEqual([.. expected, Entry(621, 4)], await store.ReadAsync(551, 621));
        await store.DisposeAsync();
    }

    [Fact]
    public async Task Reopen_AfterAResetOnly_IsEmptyAtTheSnapshotIndex()
    {
        var store = await OpenAsync();
        await store.AppendAsync(Entries(1, 5, term: 1));
        await store.ResetAsync(42);
        await store.DisposeAsync();

        await using var reopened = await OpenAsync();

        Assert.Equal(43, reopened.FirstIndex);
        Assert.Equal(42, reopened.LastIndex);
    }

    [Fact]
    public async Task Reopen_WithoutACleanShutdown_KeepsEveryAppend()
    {
        var store = await OpenAsync(TestOptions.Log(_directory.Path) with { CheckpointInterval = TimeSpan.FromHours(1) });
        await store.AppendAsync(Entries(1, 50, term: 1));
        await store.AppendAsync(Entries(40, 60, term: 2));
        store.CloseWithoutCheckpoint();

        await using var reopened = await OpenAsync();

        Assert.Equal(60, reopened.LastIndex);
        RaftAssert.EntriesEqual([.. Entries(1, 39, 1), .. Entries(40, 60, 2)], await reopened.ReadAsync(1, 60));
    }

    [Fact]
    public async Task Read_OldEntriesFromDiskAndRecentOnesFromTheCache_AreTheSame()
    {
        await using var store = await OpenAsync(TestOptions.Tiny(_directory.Path));
        var entries = Entries(1, 3000, term: 1, size: 40);
        for (var i = 0; i < entries.Length; i += 100)
        {
            await store.AppendAsync(entries[i..(i + 100)]);
        }

        RaftAssert.EntriesEqual(entries, await store.ReadAsync(1, 3000));
    }

    [Fact]
    public async Task Options_Invalid_AreRejectedWithTheSettingToFix()
    {
        var valid = TestOptions.Log(_directory.Path);
        Assert.Contains("Directory", Assert.Throws<ArgumentException>(() => (valid with { Directory = " " }).Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("PageSize", Assert.Throws<ArgumentException>(() => (valid with { PageSize = 3000 }).Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("SegmentSize", Assert.Throws<ArgumentException>(() => (valid with { SegmentSize = 1 << 20 }).Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("MemorySize", Assert.Throws<ArgumentException>(() => (valid with { MemorySize = 2 << 20 }).Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("CacheSize", Assert.Throws<ArgumentException>(() => (valid with { CacheSize = -1 }).Validate()).Message, StringComparison.Ordinal);
        Assert.Contains("CheckpointInterval", Assert.Throws<ArgumentException>(() => (valid with { CheckpointInterval = TimeSpan.Zero }).Validate()).Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => FasterLogStore.OpenAsync(valid with { PageSize = 3000 }));
    }

    [Fact]
    public async Task Dispose_ThenUse_Throws()
    {
        var store = await OpenAsync();
        await store.DisposeAsync();
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.AppendAsync(Entries(1, 1, 1)));
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.ReadAsync(1, 0));
    }

    internal static Entry Entry(long index, long term, int size = 0) =>
        new(index, term, EntryType.Normal, size == 0 ? Encoding.UTF8.GetBytes($"cmd-{term}-{index}") : Payload(index, term, size));

    internal static Entry[] Entries(long from, long to, long term, int size = 0) =>
        [.. Enumerable.Range(0, (int)(to - from + 1)).Select(i => Entry(from + i, term, size))];

    private static byte[] Payload(long index, long term, int size)
    {
        var data = new byte[size];
        new Random((int)(index * 31 + term)).NextBytes(data);
        return data;
    }

    private int SegmentFiles() => Directory.EnumerateFiles(_directory.Path, "log.*").Count(f => char.IsDigit(f[^1]));

    private Task<FasterLogStore> OpenAsync(FasterLogStoreOptions? options = null) =>
        FasterLogStore.OpenAsync(options ?? TestOptions.Log(_directory.Path));
}
