using Raft.Core.Messages;
using Raft.Core.Storage;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Storage;

public sealed class InMemorySnapshotStoreTests : SnapshotStoreConformance
{
    protected override ValueTask<ISnapshotStore> CreateAsync() => ValueTask.FromResult<ISnapshotStore>(new InMemorySnapshotStore());

    [Fact]
    public async Task Latest_AndCommitCount_DescribeWhatWasCommitted()
    {
        var store = new InMemorySnapshotStore();
        Assert.Null(store.Latest);

        await WriteAsync(store, new SnapshotMetadata(3, 1, Configuration), [1, 2, 3]);
        await WriteAsync(store, new SnapshotMetadata(2, 1, Configuration), [4]);

        Assert.Equal(3, store.Latest?.Index);
        Assert.Equal(2, store.CommitCount);
    }

    [Fact]
    public async Task Commit_Twice_Throws()
    {
        var store = new InMemorySnapshotStore();
        var writer = await store.CreateAsync(new SnapshotMetadata(1, 1, Configuration));
        await using (writer)
        {
            await writer.CommitAsync();

            await Assert.ThrowsAsync<InvalidOperationException>(async () => await writer.CommitAsync());
        }
    }
}
