using Raft.Core.Membership;
using Raft.Core.Messages;
using Raft.Testing.Conformance;
using static Raft.Storage.Faster.Tests.FasterLogStoreTests;

namespace Raft.Storage.Faster.Tests;

public sealed class FasterRaftStorageTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Reopen_ANodeDirectory_RestoresLogHardStateAndSnapshot()
    {
        await using (var storage = await OpenAsync())
        {
            await storage.Log.AppendAsync(Entries(1, 10, term: 2));
            await storage.HardState.SaveAsync(new HardState(2, "n1", 8));
            await using var writer = await storage.Snapshots.CreateAsync(new SnapshotMetadata(5, 2, new ClusterConfiguration(["n1"])));
            await writer.Stream.WriteAsync(new byte[] { 1, 2, 3 });
            await writer.CommitAsync();
        }

        await using var reopened = await OpenAsync();
        RaftAssert.EntriesEqual(Entries(1, 10, 2), await reopened.Log.ReadAsync(1, 10));
        Assert.Equal(new HardState(2, "n1", 8), await reopened.HardState.LoadAsync());
        await using var snapshot = await reopened.Snapshots.OpenLatestAsync();
        Assert.Equal(5, snapshot!.Metadata.Index);
    }

    [Fact]
    public async Task Open_TheSameNodeDirectoryTwice_Fails()
    {
        await using var storage = await OpenAsync();

        await Assert.ThrowsAsync<IOException>(OpenAsync);
    }

    private Task<FasterRaftStorage> OpenAsync() =>
        FasterRaftStorage.OpenAsync(_directory.Path, o => o with { PageSize = 1L << 20, SegmentSize = 1L << 20, MemorySize = 2L << 20, ZeroFillSegments = false });
}
