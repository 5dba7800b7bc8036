using Orleans.Storage;

namespace Orleans.Raft.Tests;

// The provider's default network: each silo serves its Raft node over gRPC on a loopback port.
[Trait("Category", "Slow")]
public sealed class GrpcClusterTests
{
    [Fact]
    public async Task GrpcNetwork_ReplicatesForwardsAndSurvivesLosingTheLeaderSilo()
    {
        await using var cluster = await RaftTestCluster.StartAsync(useGrpc: true);
        var leaderSilo = await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(20));
        var follower = RaftTestCluster.Storage(cluster.Cluster.Silos.First(s => s != leaderSilo));

        // A follower's write travels to the leader's client service over gRPC.
        var grainId = GrainId.Create("grpc", "direct");
        await follower.WriteStateAsync("s", grainId, new TestState(new CounterState { Value = 42 }));
        foreach (var storage in cluster.Storages)
        {
            var read = new TestState();
            await storage.ReadStateAsync("s", grainId, read);
            Assert.Equal(42, read.State.Value);
        }

        var grains = Enumerable.Range(0, 4).Select(i => cluster.Client.GetGrain<ICounterGrain>($"grpc-{i}")).ToArray();
        foreach (var grain in grains)
        {
            Assert.Equal(1, await grain.Increment());
        }

        await cluster.Cluster.KillSiloAsync(leaderSilo);
        await cluster.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(20));
        foreach (var grain in grains)
        {
            Assert.Equal(2, await grain.Increment());
            await cluster.Cluster.DeactivateAsync(grain);
            Assert.Equal(2, await grain.Get());
        }
    }
}
