using Raft.Core.Messages;
using Raft.Core.Transport;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Transport;

public sealed class InMemoryTransportTests : TransportConformance, IAsyncLifetime
{
    private readonly InMemoryNetwork _network = new(perPeerQueueCapacity: 1024);
    private readonly List<IAsyncDisposable> _owned = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }
    }

    protected override ValueTask<IReadOnlyList<IRaftTransport>> CreateTransportsAsync(IReadOnlyList<string> nodeIds) =>
        ValueTask.FromResult<IReadOnlyList<IRaftTransport>>([.. nodeIds.Select(_network.CreateTransport)]);

    [Fact]
    public async Task Disconnect_BothDirections_DropsAndReportsUntilHealed()
    {
        var (a, ha, b, hb) = await StartPairAsync();

        _network.Disconnect("a", "b");
        a.Send(NewMessage("a", "b", 1));
        b.Send(NewMessage("b", "a", 2));

        await ha.WaitForUnreachableAsync("b");
        await hb.WaitForUnreachableAsync("a");
        Assert.False(_network.CanDeliver("a", "b"));

        _network.Heal();
        a.Send(NewMessage("a", "b", 3));
        await hb.WaitForMessagesAsync(1);
        Assert.Equal(3, Assert.Single(hb.Messages).Index);
        Assert.Empty(ha.Messages);
    }

    [Fact]
    public async Task DisconnectOneWay_OnlyThatDirection_IsCut()
    {
        var (a, ha, b, hb) = await StartPairAsync();

        _network.DisconnectOneWay("a", "b");
        a.Send(NewMessage("a", "b", 1));
        b.Send(NewMessage("b", "a", 2));

        await ha.WaitForMessagesAsync(1);
        await ha.WaitForUnreachableAsync("b");
        Assert.Empty(hb.Messages);
        Assert.Equal(1, a.DroppedCount);
    }

    [Fact]
    public async Task Isolate_ANode_CutsItFromEveryPeerUntilHealed()
    {
        var (a, ha, b, hb) = await StartPairAsync();

        _network.Isolate("a");
        a.Send(NewMessage("a", "b", 1));
        b.Send(NewMessage("b", "a", 2));

        await ha.WaitForUnreachableAsync("b");
        await hb.WaitForUnreachableAsync("a");
        Assert.Empty(ha.Messages);
        Assert.Empty(hb.Messages);

        _network.Heal();
        b.Send(NewMessage("b", "a", 3));
        await ha.WaitForMessagesAsync(1);
    }

    [Fact]
    public async Task CreateTransport_SameIdTwice_ThrowsUntilTheFirstIsDisposed()
    {
        var first = _network.CreateTransport("x");

        Assert.Throws<InvalidOperationException>(() => _network.CreateTransport("x"));

        await first.DisposeAsync();
        await using var second = _network.CreateTransport("x");
        Assert.Equal("x", second.NodeId);
    }

    [Fact]
    public async Task Send_ToAPeerNotStartedYet_IsReportedUnreachable()
    {
        await using var a = _network.CreateTransport("a");
        await using var b = _network.CreateTransport("b");
        using var ha = new RecordingMessageHandler();
        a.Start(ha);

        a.Send(NewMessage("a", "b", 1));

        await ha.WaitForUnreachableAsync("b");
    }

    [Fact]
    public async Task Start_Twice_Throws()
    {
        await using var a = _network.CreateTransport("a");
        using var handler = new RecordingMessageHandler();
        a.Start(handler);

        Assert.Throws<InvalidOperationException>(() => a.Start(handler));
    }

    private Task<(InMemoryTransport A, RecordingMessageHandler Ha, InMemoryTransport B, RecordingMessageHandler Hb)> StartPairAsync()
    {
        var a = _network.CreateTransport("a");
        var b = _network.CreateTransport("b");
        _owned.Add(a);
        _owned.Add(b);
        var ha = new RecordingMessageHandler();
        var hb = new RecordingMessageHandler();
        a.Start(ha);
        b.Start(hb);
        return Task.FromResult((a, ha, b, hb));
    }
}
