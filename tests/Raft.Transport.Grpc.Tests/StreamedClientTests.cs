using Raft.Testing.KeyValue;
using Raft.Transport.Grpc.Client;
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

    [Fact]
    public async Task ACommandOverTheClientsMessageLimit_IsRefusedAsNotApplied_AndTheClientKeepsWorking()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        await using var client = SmallMessageClient(cluster, leader.Id);

        var refused = await Assert.ThrowsAsync<RaftClientException>(() =>
            client.ProposeAsync(new KvCommand(KvCommandType.Put, 1, "big", new string('x', 5000)).Encode()));
        var next = await client.ProposeAsync(new KvCommand(KvCommandType.Put, 2, "small", "1").Encode());

        Assert.False(refused.OutcomeUnknown);
        Assert.Contains("MaxMessageBytes", refused.Message, StringComparison.Ordinal);
        Assert.Equal(leader.Id, next.ServedBy);
        Assert.DoesNotContain("big", cluster.StateMachine(leader.Id).Data.Keys);
    }

    // Small commands queued together with one near the limit: the frames the client gathers stay within the limit.
    [Fact]
    public async Task CommandsUpToTheMessageLimit_SentTogetherWithSmallOnes_AreAllApplied()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        await using var client = SmallMessageClient(cluster, leader.Id);

        var results = await Task.WhenAll(Enumerable.Range(0, 60).Select(i =>
            client.ProposeAsync(new KvCommand(KvCommandType.Put, i, $"k{i}", new string('v', i % 20 == 19 ? 3900 : 100)).Encode())));

        Assert.Equal(60, results.Select(r => r.Index).Distinct().Count());
        Assert.Equal(3900, cluster.StateMachine(leader.Id).Data["k59"].Length);
    }

    private static GrpcRaftClient SmallMessageClient(GrpcCluster cluster, string id) => new(new GrpcRaftClientOptions
    {
        ClusterId = "kv",
        Endpoints = [cluster.Endpoint(id)],
        MaxMessageBytes = 4096,
    });
}
