using Raft.Core.Messages;
using Raft.Core.Storage;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Storage;

public sealed class InMemoryLogStoreTests : LogStoreConformance
{
    protected override ValueTask<ILogStore> CreateAsync() => ValueTask.FromResult<ILogStore>(new InMemoryLogStore());

    [Fact]
    public async Task Append_DecreasingTerms_Throws()
    {
        var store = new InMemoryLogStore();
        await store.AppendAsync(NewEntries(1, 3, term: 2));

        await Assert.ThrowsAsync<ArgumentException>(async () => await store.AppendAsync([NewEntry(4, 1)]));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.AppendAsync([NewEntry(4, 3), NewEntry(5, 2)]));

        Assert.Equal(3, store.LastIndex);
    }

    [Fact]
    public async Task AppendAsync_Always_CompletesSynchronously()
    {
        var store = new InMemoryLogStore();

        var append = store.AppendAsync(NewEntries(1, 3, term: 1));
        var read = store.ReadAsync(1, 3);

        Assert.True(append.IsCompletedSuccessfully);
        Assert.True(read.IsCompletedSuccessfully);
        await append;
    }

    [Fact]
    public void GetEntries_AfterAppends_ReturnsACopyOfTheLog()
    {
        var store = new InMemoryLogStore(NewEntries(1, 3, term: 1));

        var entries = store.GetEntries();
        _ = store.AppendAsync([NewEntry(4, 1)]);

        Assert.Equal(3, entries.Count);
        Assert.Equal(4, store.GetEntries().Count);
        Assert.Equal(2, store.AppendCount);
    }

    [Fact]
    public void Constructor_EntriesNotStartingAtOne_Throws()
    {
        Assert.Throws<ArgumentException>(() => new InMemoryLogStore([new Entry(2, 1, EntryType.Normal, default)]));
    }

    // The store keeps entries in fixed-size chunks; replacing suffixes must work across chunk boundaries.
    [Theory]
    [InlineData(4097)]
    [InlineData(4096)]
    [InlineData(4095)]
    [InlineData(1)]
    public async Task Append_ReplacingASuffixAcrossChunks_KeepsTheLogConsecutive(int replaceFrom)
    {
        var store = new InMemoryLogStore(NewEntries(1, 10_000, term: 1));

        await store.AppendAsync(NewEntries(replaceFrom, replaceFrom + 5000, term: 2));

        var all = store.GetEntries();
        Assert.Equal(replaceFrom + 5000, store.LastIndex);
        Assert.Equal(Enumerable.Range(1, replaceFrom + 5000).Select(i => (long)i), all.Select(e => e.Index));
        Assert.All(all, e => Assert.Equal(e.Index < replaceFrom ? 1 : 2, e.Term));
    }

    [Fact]
    public async Task Read_EmptyRangeAtTheEnd_ReturnsNothing()
    {
        var store = new InMemoryLogStore();

        Assert.Empty(await store.ReadAsync(1, 0));
    }
}
