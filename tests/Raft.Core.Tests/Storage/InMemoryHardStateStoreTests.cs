using Raft.Core.Messages;
using Raft.Core.Storage;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Storage;

public sealed class InMemoryHardStateStoreTests : HardStateStoreConformance
{
    protected override ValueTask<IHardStateStore> CreateAsync() => ValueTask.FromResult<IHardStateStore>(new InMemoryHardStateStore());

    [Fact]
    public void SaveAsync_Always_CompletesSynchronouslyAndCounts()
    {
        var store = new InMemoryHardStateStore(new HardState(1, "a", 0));

        var save = store.SaveAsync(new HardState(2, null, 1));

        Assert.True(save.IsCompletedSuccessfully);
        Assert.Equal(new HardState(2, null, 1), store.State);
        Assert.Equal(1, store.SaveCount);
    }
}
