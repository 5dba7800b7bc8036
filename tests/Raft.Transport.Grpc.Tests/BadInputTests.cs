using Google.Protobuf;
using Grpc.Core;
using Raft.Core.Messages;
using Raft.Testing.Conformance;
using Raft.Transport.Grpc.Tests.Infrastructure;
using Proto = Raft.Transport.Grpc.Protos;

namespace Raft.Transport.Grpc.Tests;

// Calls from outside the cluster and malformed or oversized input are refused with a status that says why, and the
// node goes on serving its real peers.
public sealed class BadInputTests
{
    private const int MaxMessageBytes = 64 * 1024;
    private const int MaxEntriesBytes = 32 * 1024;

    [Fact]
    public async Task Stream_FromAnotherCluster_IsRefusedWithPermissionDenied()
    {
        await using var pair = await Pair.StartAsync();
        using var raw = new RawPeer(pair.B.Address);

        var refusal = await raw.StreamUntilRefusedAsync(RawPeer.Headers("other-cluster", "a"), Batch(Heartbeat("a", "b")));

        Assert.Equal(StatusCode.PermissionDenied, refusal.StatusCode);
        Assert.Contains("'test', not 'other-cluster'", refusal.Status.Detail, StringComparison.Ordinal);
        await pair.AssertBServesAAsync();
        Assert.DoesNotContain(pair.HandlerB.Messages, m => m.Index == 7);
    }

    [Fact]
    public async Task Transport_OfAnotherCluster_IsRefusedAndSeesThePeerUnreachable()
    {
        await using var pair = await Pair.StartAsync();
        var options = TestNode.Options("a", clusterId: "other-cluster");
        options.Peers["b"] = pair.B.Address.ToString();
        await using var intruder = await TestNode.StartAsync(options);
        using var intruderHandler = new RecordingMessageHandler();
        intruder.Start(intruderHandler);

        await Eventually.TrueAsync(
            () =>
            {
                intruder.Send(Messages.Heartbeat("a", "b", -5));
                return intruderHandler.Unreachable.Contains("b");
            },
            "the intruder to see b as unreachable");

        await pair.AssertBServesAAsync();
        Assert.DoesNotContain(pair.HandlerB.Messages, m => m.Index == -5);
    }

    [Fact]
    public async Task Stream_FromAnUnknownNode_IsRefusedWithPermissionDenied()
    {
        await using var pair = await Pair.StartAsync();
        using var raw = new RawPeer(pair.B.Address);

        var refusal = await raw.StreamUntilRefusedAsync(RawPeer.Headers("test", "mallory"), Batch(Heartbeat("mallory", "b")));

        Assert.Equal(StatusCode.PermissionDenied, refusal.StatusCode);
        Assert.Contains("'mallory' is not a known peer", refusal.Status.Detail, StringComparison.Ordinal);
        await pair.AssertBServesAAsync();
        Assert.DoesNotContain(pair.HandlerB.Messages, m => m.From == "mallory");
    }

    [Theory]
    [InlineData(null, "a")]
    [InlineData("test", null)]
    public async Task Stream_WithoutIdentityHeaders_IsRefusedAsUnauthenticated(string? clusterId, string? senderId)
    {
        await using var pair = await Pair.StartAsync();
        using var raw = new RawPeer(pair.B.Address);

        var refusal = await raw.StreamUntilRefusedAsync(RawPeer.Headers(clusterId, senderId), Batch(Heartbeat("a", "b")));

        Assert.Equal(StatusCode.Unauthenticated, refusal.StatusCode);
        await pair.AssertBServesAAsync();
    }

    [Fact]
    public async Task Stream_WithAMessageOverTheSizeLimit_IsRefusedWithResourceExhausted()
    {
        await using var pair = await Pair.StartAsync(Limits);
        using var raw = new RawPeer(pair.B.Address);
        var oversized = Heartbeat("a", "b");
        oversized.Entries.Add(new Proto.Entry { Index = 1, Term = 1, Data = ByteString.CopyFrom(new byte[MaxMessageBytes + 1]) });

        var refusal = await raw.StreamUntilRefusedAsync(RawPeer.Headers("test", "a"), Batch(oversized));

        Assert.Equal(StatusCode.ResourceExhausted, refusal.StatusCode);
        await pair.AssertBServesAAsync();
        Assert.DoesNotContain(pair.HandlerB.Messages, m => m.Entries.Count > 0);
    }

    [Fact]
    public async Task Stream_WithEntriesOverTheEntriesLimit_IsRefusedWithInvalidArgument()
    {
        await using var pair = await Pair.StartAsync(Limits);
        using var raw = new RawPeer(pair.B.Address);
        var heavy = Heartbeat("a", "b");
        heavy.Entries.Add(new Proto.Entry { Index = 1, Term = 1, Data = ByteString.CopyFrom(new byte[MaxEntriesBytes + 1]) });

        var refusal = await raw.StreamUntilRefusedAsync(RawPeer.Headers("test", "a"), Batch(heavy));

        Assert.Equal(StatusCode.InvalidArgument, refusal.StatusCode);
        Assert.Contains("limit", refusal.Status.Detail, StringComparison.Ordinal);
        await pair.AssertBServesAAsync();
    }

    [Fact]
    public async Task Send_OfAMessageOverTheLimit_DropsItAtTheSenderAndKeepsTheStream()
    {
        await using var pair = await Pair.StartAsync(Limits);

        pair.A.Send(Messages.Heartbeat("a", "b", 1));
        pair.A.Send(Messages.Append("a", "b", 2, MaxEntriesBytes + 1));
        pair.A.Send(Messages.Heartbeat("a", "b", 3));

        await pair.HandlerB.WaitForMessagesAsync(2);
        Assert.Equal(new long[] { 1, 3 }, pair.HandlerB.Messages.Select(m => m.Index));
        Assert.Equal(1, pair.A.Transport.DroppedCount);
    }

    [Fact]
    public async Task Stream_OfBytesThatAreNotProtobuf_IsRefusedAndTheNodeKeepsServing()
    {
        await using var pair = await Pair.StartAsync();
        using var raw = new RawPeer(pair.B.Address);

        // A field 1 (messages) whose length runs past the end, then garbage tags.
        var refusal = await raw.StreamRawUntilRefusedAsync(RawPeer.Headers("test", "a"), [0x0A, 0xFF, 0xFF, 0x03, 0xFF, 0xFF, 0xFF]);

        Assert.NotEqual(StatusCode.OK, refusal.StatusCode);
        await pair.AssertBServesAAsync();
    }

    [Theory]
    [InlineData("unknown message type")]
    [InlineData("unknown entry type")]
    [InlineData("sender differs from the call's")]
    [InlineData("receiver is another node")]
    [InlineData("entries not consecutive")]
    [InlineData("invalid snapshot configuration")]
    public async Task Stream_WithAMalformedMessage_IsRefusedWithInvalidArgumentAndDeliversNothingOfTheBatch(string defect)
    {
        await using var pair = await Pair.StartAsync();
        using var raw = new RawPeer(pair.B.Address);
        var bad = Heartbeat("a", "b");
        bad.Index = 99;
        switch (defect)
        {
            case "unknown message type": bad.Type = (Proto.MessageType)42; break;
            case "unknown entry type": bad.Entries.Add(new Proto.Entry { Index = 1, Type = (Proto.EntryType)9 }); break;
            case "sender differs from the call's": bad.From = "c"; break;
            case "receiver is another node": bad.To = "c"; break;
            case "entries not consecutive": bad.Entries.Add([new Proto.Entry { Index = 1 }, new Proto.Entry { Index = 3 }]); break;
            case "invalid snapshot configuration": bad.Snapshot = new Proto.SnapshotMetadata { Index = 1, Voters = { "x", "x" } }; break;
        }

        var good = Heartbeat("a", "b");
        good.Index = 98;
        var refusal = await raw.StreamUntilRefusedAsync(RawPeer.Headers("test", "a"), new Proto.MessageBatch { Messages = { good, bad } });

        Assert.Equal(StatusCode.InvalidArgument, refusal.StatusCode);
        Assert.Contains("malformed", refusal.Status.Detail, StringComparison.Ordinal);
        await pair.AssertBServesAAsync();
        Assert.DoesNotContain(pair.HandlerB.Messages, m => m.Index is 98 or 99);
    }

    private static void Limits(GrpcTransportOptions options)
    {
        options.MaxMessageBytes = MaxMessageBytes;
        options.MaxEntriesBytes = MaxEntriesBytes;
        options.MaxBatchBytes = 16 * 1024;
        options.SnapshotChunkBytes = 16 * 1024;
    }

    private static Proto.RaftMessage Heartbeat(string from, string to) =>
        new() { Type = Proto.MessageType.Heartbeat, From = from, To = to, Term = 1, Index = 7 };

    private static Proto.MessageBatch Batch(params Proto.RaftMessage[] messages) => new() { Messages = { messages } };
}
