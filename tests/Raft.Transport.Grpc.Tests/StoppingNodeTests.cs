using Grpc.Core;
using Grpc.Net.Client;
using Google.Protobuf;
using Raft.Testing.KeyValue;
using Raft.Transport.Grpc.Security;
using Raft.Transport.Grpc.Tests.Infrastructure;
using Proto = Raft.Transport.Grpc.Protos;

namespace Raft.Transport.Grpc.Tests;

// A node on its way out (its Raft node stopped, its transport disposed, its server not yet) answers client calls with
// a clear "unavailable, not applied" status instead of failing on its disposed parts, and clients retry elsewhere.
public sealed class StoppingNodeTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AStoppingFollower_AnswersWritesAndReadsUnavailableAndNotApplied(bool readIndex)
    {
        await using var cluster = await GrpcCluster.StartAsync(readIndex: readIndex);
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Ids.First(id => id != leader.Id);
        await cluster.StopNodeKeepServingAsync(follower);
        using var channel = GrpcChannel.ForAddress($"http://{cluster.Endpoint(follower)}");
        var client = new Proto.RaftClient.RaftClientClient(channel);
        var headers = new Metadata { { CallHeaders.ClusterId, "kv" } };
        var request = new Proto.CommandRequest { Payload = ByteString.CopyFrom(new KvCommand(KvCommandType.Put, 1, "x", "1").Encode()) };

        var write = await Assert.ThrowsAsync<RpcException>(async () => await client.ProposeAsync(request, headers));
        var read = await Assert.ThrowsAsync<RpcException>(async () => await client.ReadAsync(request, headers));

        foreach (var refusal in new[] { write, read })
        {
            Assert.Equal(StatusCode.Unavailable, refusal.StatusCode);
            Assert.Contains("is stopping", refusal.Status.Detail, StringComparison.Ordinal);
            Assert.NotNull(refusal.Trailers.Get(CallHeaders.NotApplied));
        }

        Assert.DoesNotContain(cluster.StateMachine(leader.Id).Data, kv => kv.Key == "x");
    }

    [Fact]
    public async Task AClientOfAStoppingFollower_WritesThroughAnotherNode()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Ids.First(id => id != leader.Id);
        await using var client = cluster.Client([follower, .. cluster.Ids.Where(id => id != follower)]);
        await client.ProposeAsync(new KvCommand(KvCommandType.Put, 1, "before", "1").Encode());

        await cluster.StopNodeKeepServingAsync(follower);
        var result = await client.ProposeAsync(new KvCommand(KvCommandType.Put, 2, "after", "2").Encode());

        Assert.NotEqual(follower, result.ServedBy);
        Assert.Equal("2", cluster.StateMachine(leader.Id).Data["after"]);
    }
}
