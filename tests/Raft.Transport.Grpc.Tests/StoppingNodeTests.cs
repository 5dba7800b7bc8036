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

    // A node that stops while a client's command stream is open answers what it read, then says goodbye in a message
    // of its own, starts nothing it reads after it, and ends the call only once the client closed its side: ending it
    // at once could lose the call's end in the connection's teardown, leaving the client unsure of what was applied.
    [Fact]
    public async Task AStoppingNode_SaysGoodbyeOnACommandStream_AndEndsItWhenTheClientClosesItsSide()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        var follower = cluster.Ids.First(id => id != leader.Id);
        cluster.Server(follower).ClientContext!.GoodbyeGracePeriod = TimeSpan.FromMinutes(1);
        using var channel = GrpcChannel.ForAddress($"http://{cluster.Endpoint(follower)}");
        using var call = new Proto.RaftClient.RaftClientClient(channel).Stream(new Metadata { { CallHeaders.ClusterId, "kv" } });
        await call.ResponseHeadersAsync;
        await call.RequestStream.WriteAsync(Batch(1, new KvCommand(KvCommandType.Put, 1, "before", "1")));
        Assert.True(await call.ResponseStream.MoveNext());
        Assert.Equal(Proto.Outcome.Applied, Assert.Single(call.ResponseStream.Current.Replies).Reply.Outcome);

        await cluster.StopNodeKeepServingAsync(follower);
        Assert.True(await call.ResponseStream.MoveNext());
        var goodbye = call.ResponseStream.Current;
        await call.RequestStream.WriteAsync(Batch(2, new KvCommand(KvCommandType.Put, 2, "after", "2")));
        var end = call.ResponseStream.MoveNext();
        await Task.Delay(300);
        var endedBeforeTheClientClosed = end.IsCompleted;
        await call.RequestStream.CompleteAsync();

        Assert.True(goodbye.Stopping);
        Assert.Empty(goodbye.Replies);
        Assert.False(endedBeforeTheClientClosed, "The node ended the call before the client closed its side.");

        // Ends well within the (one-minute) grace period, and without a reply to the command written after the goodbye.
        Assert.False(await end.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        Assert.DoesNotContain(cluster.StateMachine(leader.Id).Data, kv => kv.Key == "after");
    }

    // A client that never closes its side (an older one, or a stuck one) holds a stopping node for a grace period only.
    [Fact]
    public async Task AStoppingNode_EndsACommandStreamWhoseClientNeverClosesItsSide()
    {
        await using var cluster = await GrpcCluster.StartAsync();
        var leader = await cluster.WaitForLeaderAsync();
        using var channel = GrpcChannel.ForAddress($"http://{cluster.Endpoint(leader.Id)}");
        using var call = new Proto.RaftClient.RaftClientClient(channel).Stream(new Metadata { { CallHeaders.ClusterId, "kv" } });
        await call.ResponseHeadersAsync;

        await cluster.StopNodeKeepServingAsync(leader.Id);

        Assert.True(await call.ResponseStream.MoveNext());
        Assert.True(call.ResponseStream.Current.Stopping);
        Assert.False(await call.ResponseStream.MoveNext().WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    private static Proto.StreamedCommandBatch Batch(long id, KvCommand command) =>
        new() { Commands = { new Proto.StreamedCommand { Id = id, Payload = ByteString.CopyFrom(command.Encode()) } } };
}
