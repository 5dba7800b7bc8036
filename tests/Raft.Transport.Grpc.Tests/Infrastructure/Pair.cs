using Raft.Testing.Conformance;

namespace Raft.Transport.Grpc.Tests.Infrastructure;

// Two started nodes "a" and "b" with recording handlers; the usual scene of a security or bad-input test.
public sealed class Pair : IAsyncDisposable
{
    private long _probe = 1_000_000;

    private Pair(IReadOnlyList<TestNode> nodes)
    {
        A = nodes[0];
        B = nodes[1];
        A.Start(HandlerA);
        B.Start(HandlerB);
    }

    public TestNode A { get; }

    public TestNode B { get; }

    public RecordingMessageHandler HandlerA { get; } = new();

    public RecordingMessageHandler HandlerB { get; } = new();

    public static async Task<Pair> StartAsync(Action<GrpcTransportOptions>? configure = null) =>
        new(await TestNode.StartConnectedAsync(["a", "b"], configure));

    // The node keeps serving: a fresh message from its legitimate peer arrives.
    public async Task AssertBServesAAsync()
    {
        var probe = Interlocked.Increment(ref _probe);
        await Eventually.TrueAsync(
            () =>
            {
                A.Send(Messages.Heartbeat("a", "b", probe));
                return HandlerB.Messages.Any(m => m.Index == probe);
            },
            "node b to receive a new message from a");
    }

    public async ValueTask DisposeAsync()
    {
        HandlerA.Dispose();
        HandlerB.Dispose();
        await A.DisposeAsync();
        await B.DisposeAsync();
    }
}
