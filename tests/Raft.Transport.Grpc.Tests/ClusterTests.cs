using Raft.Core.Engine;
using Raft.Testing.Conformance;
using Raft.Testing.KeyValue;
using Raft.Transport.Grpc.Tests.Infrastructure;

namespace Raft.Transport.Grpc.Tests;

// Three RaftNodes over real gRPC on loopback: election, replication, the client service with forwarding, failover.
[Trait("Category", "Cluster")]
public sealed class ClusterTests
{
    [Fact]
    public async Task ThreeNodes_OverGrpc_ElectALeaderAndCommitOnEveryNode()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();

        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(i =>
            leader.ProposeAsync(new KvCommand(KvCommandType.Put, i, $"k{i}", $"v{i}").Encode())));

        var last = results.Max(r => r.Index);
        await Eventually.TrueAsync(() => cluster.Ids.All(id => cluster.StateMachine(id).LastApplied >= last), $"every node to apply up to {last}");
        foreach (var id in cluster.Ids)
        {
            Assert.Equal(100, cluster.StateMachine(id).Data.Count);
            Assert.Equal("v42", cluster.StateMachine(id).Data["k42"]);
        }
    }

    [Fact]
    public async Task Client_TalkingToAFollower_IsForwardedToTheLeader()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Ids.First(id => id != leader.Id);
        await using var client = cluster.Client(follower);

        var put = await client.ProposeAsync(new KvCommand(KvCommandType.Put, 1, "x", "1").Encode());
        var read = await client.ReadAsync(new KvCommand(KvCommandType.Get, 2, "x").Encode());

        Assert.Equal(leader.Id, put.ServedBy);
        Assert.True(KvResult.Decode(put.Result.Span).Ok);
        Assert.Equal("1", KvResult.Decode(read.Result.Span).Value);
        Assert.True(read.Index > put.Index);
    }

    [Fact]
    public async Task Client_ReadWithAQueryHandler_IsServedByTheFollowerItselfAndSeesTheAcknowledgedWrite()
    {
        await using var cluster = await GrpcCluster.StartAsync(readIndex: true);
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Ids.First(id => id != leader.Id);
        await using var client = cluster.Client(follower);

        var put = await client.ProposeAsync(new KvCommand(KvCommandType.Put, 1, "x", "1").Encode());
        var read = await client.ReadAsync(new KvCommand(KvCommandType.Get, 2, "x").Encode());

        Assert.Equal(follower, read.ServedBy);
        Assert.True(read.Index >= put.Index);
        Assert.Equal("1", KvResult.Decode(read.Result.Span).Value);
    }

    [Fact]
    public async Task Client_Status_ShowsEveryNodeWithOneLeader()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        await using var client = cluster.Client(cluster.Ids[0]);
        await client.ProposeAsync(new KvCommand(KvCommandType.Put, 1, "x", "1").Encode());

        var statuses = await client.GetStatusAsync();

        Assert.Equal(cluster.Ids.Order(), statuses.Select(s => s.Id).Order());
        Assert.All(statuses, s => Assert.True(s.Reachable, s.Error));
        var reportedLeader = Assert.Single(statuses, s => s.Role == StateRole.Leader);
        Assert.Equal(leader.Id, reportedLeader.Id);
        Assert.All(statuses, s => Assert.Equal(leader.Id, s.LeaderId));
        Assert.True(reportedLeader.CommitIndex >= 2);
        Assert.All(statuses, s => Assert.NotNull(s.Address));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task Client_AfterTheLeaderStops_WritesThroughTheNewLeaderAndReadsEveryAcknowledgedWrite()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        await using var client = cluster.Client();
        for (var i = 0; i < 20; i++)
        {
            await client.ProposeAsync(new KvCommand(KvCommandType.Put, i, $"k{i}", $"v{i}").Encode());
        }

        var term = leader.Status.Term;
        await cluster.StopAsync(leader.Id);
        var newLeader = await cluster.WaitForLeaderAsync(minTerm: term);
        await client.ProposeAsync(new KvCommand(KvCommandType.Put, 100, "after", "failover").Encode());

        Assert.NotEqual(leader.Id, newLeader.Id);
        for (var i = 0; i < 20; i++)
        {
            var read = await client.ReadAsync(new KvCommand(KvCommandType.Get, 200 + i, $"k{i}").Encode());
            Assert.Equal($"v{i}", KvResult.Decode(read.Result.Span).Value);
        }

        var after = await client.ReadAsync(new KvCommand(KvCommandType.Get, 300, "after").Encode());
        Assert.Equal("failover", KvResult.Decode(after.Result.Span).Value);
    }

    // §7: a follower that lost its disk catches up from a snapshot streamed over gRPC, the log before it being compacted.
    [Fact]
    [Trait("Category", "Slow")]
    public async Task AWipedFollower_CatchesUpThroughASnapshotSentOverGrpc()
    {
        await using var cluster = await GrpcCluster.StartAsync(snapshotEvery: 50);
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Ids.First(id => id != leader.Id);
        await cluster.StopAsync(follower);

        await Task.WhenAll(Enumerable.Range(0, 300).Select(i => leader.ProposeAsync(new KvCommand(KvCommandType.Put, i, $"k{i}", $"v{i}").Encode())));
        await Eventually.TrueAsync(() => leader.Status.FirstIndex > 1, "the leader to compact its log");
        await cluster.RestartAsync(follower, wipe: true);

        await Eventually.TrueAsync(() => cluster.StateMachine(follower).Data.Count == 300, "the wiped follower to hold every key");
        Assert.Equal("v299", cluster.StateMachine(follower).Data["k299"]);
    }
}
