using Grpc.Core;
using Microsoft.Extensions.Logging;
using Raft.Testing.Conformance;
using Raft.Testing.Logging;
using Raft.Transport.Grpc.Tests.Infrastructure;

namespace Raft.Transport.Grpc.Tests;

// How a sender reports the end of its stream to a peer: a peer that stops ends it on purpose, which is routine (a
// rolling restart, a silo's shutdown) and is said at Information; a stream that breaks is a warning.
public sealed class PeerStreamEndTests
{
    private const int PeerStreamBroken = 3002;
    private const int PeerEndedStream = 3008;

    [Fact]
    public async Task Stream_EndedByAPeerThatStops_IsInformationNotAWarning()
    {
        var log = new TestLog();
        var a = await TestNode.StartAsync(TestNode.Options("a"), log);
        var b = await TestNode.StartAsync(TestNode.Options("b"));
        using var handlerA = new RecordingMessageHandler();
        using var handlerB = new RecordingMessageHandler();
        try
        {
            a.Start(handlerA);
            b.Start(handlerB);
            TestNode.Connect([a, b]);
            await Eventually.TrueAsync(
                () =>
                {
                    a.Send(Messages.Heartbeat("a", "b", 1));
                    return handlerB.Messages.Any(m => m.Index == 1);
                },
                "b to receive from a");

            // Transport first, then server: b's streams end as a stopping node's do.
            await b.DisposeAsync();
            await Eventually.TrueAsync(() => log.Entries.Any(e => e.EventId.Id == PeerEndedStream), "a to notice that b ended the stream");

            var ended = log.Entries.First(e => e.EventId.Id == PeerEndedStream);
            Assert.Equal(LogLevel.Information, ended.Level);
            Assert.Contains("stopping", ended.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(log.Entries, e => e.EventId.Id == PeerStreamBroken);
            Assert.DoesNotContain(log.Entries, e => e.Level >= LogLevel.Warning);
        }
        finally
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
        }
    }

    [Fact]
    public void IsGracefulClose_OnlyForAConnectionOrStreamClosedWithNoError()
    {
        var goAway = new HttpProtocolException(0, "The HTTP/2 server closed the connection. HTTP/2 error code 'NO_ERROR' (0x0).", null);
        var internalError = new HttpProtocolException(2, "The HTTP/2 server reset the stream. HTTP/2 error code 'INTERNAL_ERROR' (0x2).", null);

        Assert.True(GrpcRaftTransport.IsGracefulClose(goAway));
        Assert.True(GrpcRaftTransport.IsGracefulClose(new RpcException(new Status(StatusCode.Unavailable, "Error reading next message.", goAway))));
        Assert.True(GrpcRaftTransport.IsGracefulClose(new IOException("The request was aborted.", goAway)));

        Assert.False(GrpcRaftTransport.IsGracefulClose(internalError));
        Assert.False(GrpcRaftTransport.IsGracefulClose(new RpcException(new Status(StatusCode.Unavailable, "Error reading next message.", internalError))));
        Assert.False(GrpcRaftTransport.IsGracefulClose(new IOException("Connection reset by peer")));
        Assert.False(GrpcRaftTransport.IsGracefulClose(new RpcException(new Status(StatusCode.Unavailable, "Connection refused"))));
    }
}
