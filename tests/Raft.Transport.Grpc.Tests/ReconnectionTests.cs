using Raft.Testing.Conformance;
using Raft.Transport.Grpc.Tests.Infrastructure;

namespace Raft.Transport.Grpc.Tests;

public sealed class ReconnectionTests
{
    [Fact]
    public async Task Stream_AfterThePeersServerRestarts_ReconnectsAndDeliversAgain()
    {
        await using var pair = await Pair.StartAsync();
        await pair.AssertBServesAAsync();

        await pair.B.StopServerAsync();
        await Eventually.TrueAsync(
            () =>
            {
                pair.A.Send(Messages.Heartbeat("a", "b", -1));
                return pair.HandlerA.Unreachable.Contains("b");
            },
            "a to notice that b is down");

        await pair.B.RestartServerAsync();

        await pair.AssertBServesAAsync();
    }

    [Fact]
    public async Task Stream_ToAPeerThatStartsLater_ConnectsOnceItListens()
    {
        await using var pair = await Pair.StartAsync();
        var port = pair.B.Address.Port;
        await pair.B.StopServerAsync();

        // Messages sent while b is down are dropped and reported, never queued without bound.
        for (var i = 0; i < 10_000; i++)
        {
            pair.A.Send(Messages.Heartbeat("a", "b", -2));
        }

        await pair.HandlerA.WaitForUnreachableAsync("b");
        await pair.B.RestartServerAsync();

        Assert.Equal(port, pair.B.Address.Port);
        await pair.AssertBServesAAsync();
    }

    [Fact]
    public async Task SetPeer_WithANewAddress_MovesTheStreamThere()
    {
        await using var pair = await Pair.StartAsync();
        await pair.AssertBServesAAsync();
        await using var moved = await TestNode.StartAsync(TestNode.Options("b"));
        moved.Transport.SetPeer("a", pair.A.Address.ToString());
        using var movedHandler = new RecordingMessageHandler();
        moved.Start(movedHandler);

        pair.A.Transport.SetPeer("b", moved.Address.ToString());

        await Eventually.TrueAsync(
            () =>
            {
                pair.A.Send(Messages.Heartbeat("a", "b", 77));
                return movedHandler.Messages.Any(m => m.Index == 77);
            },
            "the moved b to receive");
    }

    [Fact]
    public async Task RemovePeer_RefusesItsCallsAndDropsMessagesToIt()
    {
        await using var pair = await Pair.StartAsync();
        await pair.AssertBServesAAsync();

        Assert.True(pair.B.Transport.RemovePeer("a"));

        await Eventually.TrueAsync(
            () =>
            {
                pair.A.Send(Messages.Heartbeat("a", "b", -4));
                return pair.HandlerA.Unreachable.Contains("b");
            },
            "a to be refused by b");
        pair.B.Send(Messages.Heartbeat("b", "a", 5));
        await pair.HandlerB.WaitForUnreachableAsync("a");
    }
}
