namespace Raft.Storage.Faster.Tests;

// An append normally flushes and fdatasyncs on its caller's thread. When another thread holds FasterLog's epoch at
// that moment, the pages are not written yet and the append waits for FasterLog's own commit instead. FasterLog then
// runs its commit hook during the append, and the hook leaves the fdatasync to the append (SlotCommitManager.AppendSyncs)
// while FasterLog counts the commit as done all the same: so on this path the append must sync after the commit
// itself. CommitOnCallerThread = false sends every append down this path.
public sealed class AppendCommitFallbackTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    // Buffered, each append must fdatasync after FasterLog's commit; direct writes are durable when FasterLog's own
    // commit writes them, so nothing is left for the append to sync.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Append_AfterFasterLogsOwnCommit_IsDurableAndMarkedDurableBeforeItReturns(bool directWrites)
    {
        await using var store = await FasterLogStore.OpenAsync(Fallback() with { DirectWrites = directWrites });
        var direct = directWrites && OperatingSystem.IsLinux();
        for (var batch = 0; batch < 20; batch++)
        {
            var syncs = store.SyncCount;
            var writes = store.DirectWriteCount;
            var durable = store.DurableUntil;
            var from = (batch * 50) + 1;

            await store.AppendAsync(FasterLogStoreTests.Entries(from, from + 49, term: 1, size: 100));

            Assert.False(store.HasUnsyncedWrites, $"batch {batch}: the append returned with written pages not durable");
            Assert.Equal(direct ? syncs : syncs + 1, store.SyncCount);
            Assert.True(direct ? store.DirectWriteCount > writes : store.DirectWriteCount == 0, $"batch {batch}: {store.DirectWriteCount - writes} direct writes");
            Assert.True(store.DurableUntil > durable, $"batch {batch}: the durable point did not move past the append");
        }

        Assert.Equal(1000, store.LastIndex);
    }

    [Fact]
    public async Task Append_WhoseFdatasyncFailsAfterFasterLogsOwnCommit_FailsAndStopsTheStore()
    {
        var failing = false;
        await using var store = await FasterLogStore.OpenAsync(Fallback() with
        {
            FlushData = (_, path) =>
            {
                if (Volatile.Read(ref failing))
                {
                    throw new IOException($"injected EIO on {path}");
                }
            },
        });
        await store.AppendAsync(FasterLogStoreTests.Entries(1, 10, term: 1));
        Volatile.Write(ref failing, true);

        await Assert.ThrowsAsync<IOException>(async () => await store.AppendAsync(FasterLogStoreTests.Entries(11, 20, term: 1)));

        // Never acknowledged, never readable, and the store takes no further write.
        Assert.Equal(10, store.LastIndex);
        Volatile.Write(ref failing, false);
        await Assert.ThrowsAsync<IOException>(async () => await store.AppendAsync(FasterLogStoreTests.Entries(11, 20, term: 1)));
        Assert.Equal(10, store.LastIndex);
    }

    // Buffered writes (the fdatasync path) unless a test asks for direct ones.
    private FasterLogStoreOptions Fallback() => TestOptions.Log(_directory.Path) with { CommitOnCallerThread = false, DirectWrites = false };
}
