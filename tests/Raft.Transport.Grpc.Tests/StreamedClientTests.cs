using Raft.Testing.KeyValue;
using Raft.Transport.Grpc.Tests.Infrastructure;

namespace Raft.Transport.Grpc.Tests;

// GrpcRaftClient multiplexes concurrent calls onto one streamed call per node; each caller still gets its own answer.
public sealed class StreamedClientTests
{
    [Fact]
    public async Task ManyConcurrentProposals_OnOneClient_EachGetItsOwnIndexAndAllAreApplied()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        await using var client = cluster.Client(leader.Id);

        var results = await Task.WhenAll(Enumerable.Range(0, 500).Select(i =>
            client.ProposeAsync(new KvCommand(KvCommandType.Put, i, $"k{i}", $"v{i}").Encode())));

        Assert.Equal(500, results.Select(r => r.Index).Distinct().Count());
        Assert.All(results, r => Assert.Equal(leader.Id, r.ServedBy));
        var data = cluster.StateMachine(leader.Id).Data;
        Assert.All(Enumerable.Range(0, 500), i => Assert.Equal($"v{i}", data[$"k{i}"]));
    }

    [Fact]
    public async Task ProposalsThroughAFollower_AreForwardedOnce_ThenGoToTheLeaderDirectly()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Ids.First(id => id != leader.Id);
        await using var client = cluster.Client(follower);

        var first = await client.ProposeAsync(new KvCommand(KvCommandType.Put, 1, "a", "1").Encode());

        // The follower, the only endpoint the client was given, no longer takes commands: the next proposal can only
        // succeed if the client learned the leader's address from the forwarded answer.
        await cluster.StopNodeKeepServingAsync(follower);
        var second = await client.ProposeAsync(new KvCommand(KvCommandType.Put, 2, "b", "2").Encode());

        Assert.Equal(leader.Id, first.ServedBy);
        Assert.Equal(leader.Id, second.ServedBy);
        Assert.True(second.Index > first.Index);
    }
}
