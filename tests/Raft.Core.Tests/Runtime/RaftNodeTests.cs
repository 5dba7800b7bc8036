using System.Diagnostics.Metrics;
using System.Text;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Core.Tests.Runtime.Fakes;
using Raft.Core.Transport;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Runtime;

// One-node clusters (a single voter elects itself), which make failures and batching deterministic.
[Collection(RealTimeCollection.Name)]
public sealed class RaftNodeTests : IAsyncLifetime
{
    private readonly InMemoryNetwork _network = new();
    private readonly FaultyLogStore _logStore = new();
    private readonly TestStateMachine _stateMachine = new();
    private InMemoryTransport? _transport;
    private RaftNode? _node;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        _logStore.Gate?.TrySetResult();
        _stateMachine.Gate?.TrySetResult();
        if (_node is not null)
        {
            await _node.StopAsync();
        }

        if (_transport is not null)
        {
            await _transport.DisposeAsync();
        }
    }

    [Fact]
    public async Task ProposeAsync_SingleNode_ResolvesWithIndexAndResult()
    {
        var node = await StartLeaderAsync();

        var first = await node.ProposeAsync(Bytes("abc"));
        var second = await node.ProposeAsync(Bytes("xyz"));

        Assert.Equal("cba", Encoding.UTF8.GetString(first.Response.Span));
        Assert.Equal(first.Index + 1, second.Index);
        Assert.Equal([(first.Index, "abc"), (second.Index, "xyz")], _stateMachine.Applied);
    }

    // Raft needs the term and the vote durable, not the commit index: a leader's proposals cost the log's fsync only,
    // never a second one for a hard state that merely records the new commit index (ReadyProcessor's remarks).
    [Fact]
    public async Task ProposeAsync_Leader_NeverSavesAHardStateThatOnlyMovesTheCommitIndex()
    {
        var hardState = new CountingHardStateStore();
        _transport = _network.CreateTransport("solo");
        _node = new RaftNode(TestCluster.Options("solo", ["solo"]), _logStore, hardState, _transport, _stateMachine);
        await _node.StartAsync();
        await _node.WaitForLeaderAsync().WaitAsync(Eventually.DefaultTimeout);

        for (var i = 0; i < 20; i++)
        {
            var result = await _node.ProposeAsync(Bytes($"c{i}")).WaitAsync(Eventually.DefaultTimeout);
            Assert.Equal(new string($"c{i}".Reverse().ToArray()), Encoding.UTF8.GetString(result.Response.Span));
        }

        Assert.Equal(0, hardState.CommitOnlySaves);
    }

    // Everything queued while a write is in flight goes into the next write: one append, one fsync.
    [Fact]
    public async Task ProposeAsync_WhileAnAppendIsInFlight_BatchesTheWaitingProposalsIntoOneAppend()
    {
        var node = await StartLeaderAsync();
        var gate = _logStore.HoldAppends();
        var blocker = node.ProposeAsync(Bytes("blocker"));
        await Eventually.TrueAsync(() => _logStore.WaitingAppends > 0, "the loop to wait inside an append");

        var batch = Enumerable.Range(0, 100).Select(i => node.ProposeAsync(Bytes($"b{i}"))).ToArray();
        gate.SetResult();
        var results = await Task.WhenAll(batch);

        await blocker;
        Assert.Contains(_logStore.BatchSizes, size => size >= 100);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"b{i}"), results.Select(r => _stateMachine.Applied.Single(a => a.Index == r.Index).Command));
    }

    [Fact]
    public async Task StopAsync_WithProposalsWaitingToApply_FailsThemWithNodeStopped()
    {
        var node = await StartLeaderAsync();
        _stateMachine.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pending = Enumerable.Range(0, 5).Select(i => node.ProposeAsync(Bytes($"p{i}"))).ToArray();
        await Eventually.TrueAsync(() => node.Status.CommitIndex >= 6, "the proposals to commit");

        await node.StopAsync();

        foreach (var proposal in pending)
        {
            var failure = await Assert.ThrowsAsync<RaftNodeStoppedException>(() => proposal);
            Assert.Null(failure.InnerException);
        }

        await node.Completion;
    }

    [Fact]
    public async Task ProposeAsync_AfterStop_FailsWithNodeStopped()
    {
        var node = await StartLeaderAsync();
        await node.StopAsync();

        await Assert.ThrowsAsync<RaftNodeStoppedException>(() => node.ProposeAsync(Bytes("late")));
        await Assert.ThrowsAsync<RaftNodeStoppedException>(() => node.WaitForLeaderAsync());
    }

    [Fact]
    public async Task ProposeAsync_BeforeStart_Throws()
    {
        var node = CreateNode();

        Assert.Throws<InvalidOperationException>(() => { _ = node.ProposeAsync(Bytes("early")); });
        await node.StopAsync();
        await node.Completion;
    }

    [Fact]
    public async Task StartAsync_Twice_Throws()
    {
        var node = await StartLeaderAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => node.StartAsync());
    }

    [Fact]
    public async Task ProposeAsync_TooLargeCommand_ThrowsArgumentException()
    {
        var node = CreateNode(maxEntrySize: 8);
        await node.StartAsync();

        Assert.Throws<ArgumentException>(() => { _ = node.ProposeAsync(new byte[9]); });
    }

    [Fact]
    public async Task ProposeAsync_CancelledWait_AbandonsOnlyTheWait()
    {
        var node = await StartLeaderAsync();
        _stateMachine.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var cancel = new CancellationTokenSource();

        var waiting = node.ProposeAsync(Bytes("kept"), cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        _stateMachine.Gate.SetResult();
        await Eventually.TrueAsync(() => _stateMachine.Applied.Any(a => a.Command == "kept"), "the abandoned proposal to be applied anyway");
    }

    [Fact]
    public async Task LogStoreFailure_StopsTheNodeAndFailsPendingProposalsWithTheCause()
    {
        var node = await StartLeaderAsync();
        var diskError = new IOException("disk on fire");
        _logStore.FailWith = diskError;

        var failure = await Assert.ThrowsAsync<RaftNodeStoppedException>(() => node.ProposeAsync(Bytes("lost")));

        Assert.Same(diskError, failure.InnerException);
        Assert.Same(diskError, await Assert.ThrowsAsync<IOException>(() => node.Completion));
        await Assert.ThrowsAsync<RaftNodeStoppedException>(() => node.ProposeAsync(Bytes("after")));
        await node.StopAsync();
    }

    [Fact]
    public async Task StateMachineFailure_StopsTheNodeAndFaultsCompletion()
    {
        var node = await StartLeaderAsync();
        _stateMachine.FailOn = "boom";

        var failure = await Assert.ThrowsAsync<RaftNodeStoppedException>(() => node.ProposeAsync(Bytes("boom")));

        Assert.IsType<InvalidOperationException>(failure.InnerException);
        await Assert.ThrowsAsync<InvalidOperationException>(() => node.Completion);
    }

    [Fact]
    public async Task StartAsync_StoreHoldsALog_RecoversAndAppliesTheCommittedEntries()
    {
        var hardState = new InMemoryHardStateStore();
        var options = TestCluster.Options("solo", ["solo"]);
        _transport = _network.CreateTransport("solo");
        var first = new RaftNode(options, _logStore, hardState, _transport, new TestStateMachine());
        await first.StartAsync();
        await first.WaitForLeaderAsync().WaitAsync(Eventually.DefaultTimeout);
        var result = await first.ProposeAsync(Bytes("durable"));
        await first.StopAsync();
        await _transport.DisposeAsync();

        _transport = _network.CreateTransport("solo");
        _node = new RaftNode(options, _logStore, hardState, _transport, _stateMachine);
        await _node.StartAsync();

        await Eventually.TrueAsync(() => _stateMachine.Applied.Contains((result.Index, "durable")), "the recovered entry to be applied again");
        Assert.True(_node.Status.Term >= 1);
    }

    [Fact]
    public async Task Metrics_AProposal_RecordsCommitLatencyTaggedWithTheNode()
    {
        var measured = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Raft.Core" && instrument.Name == "raft.commit.latency")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "raft.node" && (string?)tag.Value == "solo" && value >= 0)
                {
                    Interlocked.Increment(ref measured);
                }
            }
        });
        listener.Start();
        var node = await StartLeaderAsync();

        await node.ProposeAsync(Bytes("measured"));

        Assert.True(Volatile.Read(ref measured) >= 1);
    }

    // The engine has no clock: only the TimeProvider's timer moves it, so without ticks a lone node never campaigns.
    [Fact]
    public async Task Ticks_ComeFromTheTimeProvider_AndDriveTheElection()
    {
        var time = new ManualTimeProvider();
        _transport = _network.CreateTransport("solo");
        _node = new RaftNode(TestCluster.Options("solo", ["solo"]), _logStore, new InMemoryHardStateStore(), _transport, _stateMachine, time);
        await _node.StartAsync();
        Assert.Equal(1, time.TimerCount);
        Assert.False(_node.IsLeader);

        await Eventually.TrueAsync(
            () =>
            {
                time.FireAll();
                return _node.IsLeader;
            },
            "the node to elect itself once ticks arrive");

        await _node.StopAsync();
        Assert.Equal(0, time.TimerCount);
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsNamingTheSetting()
    {
        var options = TestCluster.Options("solo", ["solo"]) with { TickInterval = TimeSpan.Zero };
        var transport = _network.CreateTransport("invalid");

        var ex = Assert.Throws<ArgumentException>(
            () => new RaftNode(options, new InMemoryLogStore(), new InMemoryHardStateStore(), transport, _stateMachine));

        Assert.Contains("TickInterval", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentNullException>(
            () => new RaftNode(options with { TickInterval = TimeSpan.FromMilliseconds(1) }, null!, new InMemoryHardStateStore(), transport, _stateMachine));
    }

    [Fact]
    public async Task WaitForLinearizableRead_SingleNode_CompletesAtOrAfterTheLastWrite()
    {
        var node = await StartLeaderAsync();
        var write = await node.ProposeAsync(Bytes("w"));

        var index = await node.WaitForLinearizableReadAsync();

        Assert.True(index >= write.Index);
        Assert.Contains((write.Index, "w"), _stateMachine.Applied);
    }

    // All reads that arrive while the loop is busy go to the engine as one request, and so share one read index.
    [Fact]
    public async Task WaitForLinearizableRead_ManyWhileTheLoopIsBusy_ShareOneEngineRequest()
    {
        var batches = new System.Collections.Concurrent.ConcurrentQueue<long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Raft.Core" && instrument.Name == "raft.reads")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "raft.node" && (string?)tag.Value == "solo")
                {
                    batches.Enqueue(value);
                }
            }
        });
        listener.Start();
        var node = await StartLeaderAsync();
        var gate = _logStore.HoldAppends();
        var blocker = node.ProposeAsync(Bytes("blocker"));
        await Eventually.TrueAsync(() => _logStore.WaitingAppends > 0, "the loop to wait inside an append");

        var reads = Enumerable.Range(0, 50).Select(_ => node.WaitForLinearizableReadAsync()).ToArray();
        gate.SetResult();
        var indexes = await Task.WhenAll(reads);

        await blocker;
        Assert.Single(indexes.Distinct());
        Assert.Equal([50L], batches);
    }

    [Fact]
    public async Task WaitForLinearizableRead_WaitingForTheStateMachineWhenTheNodeStops_FailsWithNodeStopped()
    {
        var node = await StartLeaderAsync();
        _stateMachine.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = node.ProposeAsync(Bytes("held"));
        await Eventually.TrueAsync(() => node.Status.CommitIndex >= 2, "the held entry to commit");
        var read = node.WaitForLinearizableReadAsync();

        await node.StopAsync();

        await Assert.ThrowsAsync<RaftNodeStoppedException>(() => read);
    }

    [Fact]
    public async Task WaitForLinearizableRead_BeforeStart_Throws()
    {
        var node = CreateNode();

        await Assert.ThrowsAsync<InvalidOperationException>(() => node.WaitForLinearizableReadAsync());
        await Assert.ThrowsAsync<InvalidOperationException>(() => node.TransferLeadershipAsync());
        await Assert.ThrowsAsync<InvalidOperationException>(() => node.AddLearnerAsync("x"));
    }

    [Fact]
    public async Task TransferLeadership_WithNoOtherVoter_IsRejected()
    {
        var node = await StartLeaderAsync();

        var failure = await Assert.ThrowsAsync<RequestRejectedException>(() => node.TransferLeadershipAsync());

        Assert.Contains("no other voter", failure.Message, StringComparison.Ordinal);
        Assert.True(node.IsLeader);
    }

    [Fact]
    public async Task RequestsAfterStop_FailWithNodeStopped()
    {
        var node = await StartLeaderAsync();
        await node.StopAsync();

        await Assert.ThrowsAsync<RaftNodeStoppedException>(() => node.WaitForLinearizableReadAsync());
        await Assert.ThrowsAsync<RaftNodeStoppedException>(() => node.TransferLeadershipAsync());
        await Assert.ThrowsAsync<RaftNodeStoppedException>(() => node.RemoveMemberAsync("solo"));
    }

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private RaftNode CreateNode(int? maxEntrySize = null)
    {
        var options = TestCluster.Options("solo", ["solo"]);
        if (maxEntrySize is { } max)
        {
            options = options with { Raft = options.Raft with { MaxEntrySize = max } };
        }

        _transport = _network.CreateTransport("solo");
        _node = new RaftNode(options, _logStore, new InMemoryHardStateStore(), _transport, _stateMachine);
        return _node;
    }

    private async Task<RaftNode> StartLeaderAsync()
    {
        var node = CreateNode();
        await node.StartAsync();
        Assert.Equal("solo", await node.WaitForLeaderAsync().WaitAsync(Eventually.DefaultTimeout));
        await Eventually.TrueAsync(() => node.IsLeader, "the single node to lead");
        return node;
    }
}
