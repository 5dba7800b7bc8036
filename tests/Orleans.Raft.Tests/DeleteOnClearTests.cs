namespace Orleans.Raft.Tests;

// DeleteStateOnClear = true, on a one-silo cluster (a Raft group of one commits alone).
[Trait("Category", "Slow")]
public sealed class DeleteOnClearTests
{
    [Fact]
    public async Task Clear_WithDeleteStateOnClear_RemovesRecordAndETag()
    {
        await using var cluster = await RaftTestCluster.StartAsync(1, o => o.DeleteStateOnClear = true);
        var storage = RaftTestCluster.Storage(cluster.Cluster.Silos[0]);
        var grain = GrainId.Create("delete", "k");
        var state = new TestState(new CounterState { Value = 3 });
        await storage.WriteStateAsync("s", grain, state);

        await storage.ClearStateAsync("s", grain, state);
        Assert.Null(state.ETag);
        Assert.False(state.RecordExists);

        var read = new TestState();
        await storage.ReadStateAsync("s", grain, read);
        Assert.Null(read.ETag);
        Assert.False(read.RecordExists);
        Assert.False(storage.StateMachine.TryGet(new("delete", "k", "s"), out _));

        // A new record starts from no ETag, as after a first write.
        read.State.Value = 4;
        await storage.WriteStateAsync("s", grain, read);
        Assert.True(read.RecordExists);
    }
}
