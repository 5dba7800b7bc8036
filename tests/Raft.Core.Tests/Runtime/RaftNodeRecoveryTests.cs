using System.Text;
using Raft.Core.Membership;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Core.Transport;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Runtime;

// How StartAsync combines the newest snapshot with the log: one node, stores prepared by hand.
[Collection(RealTimeCollection.Name)]
public sealed class RaftNodeRecoveryTests : IAsyncLifetime
{
    private static readonly ClusterConfiguration Solo = new(["solo"]);
    private readonly InMemoryNetwork _network = new();
    private readonly InMemoryLogStore _logStore = new();
    private readonly InMemoryHardStateStore _hardStateStore = new();
    private readonly InMemorySnapshotStore _snapshotStore = new();
    private readonly TestStateMachine _stateMachine = new();
    private InMemoryTransport? _transport;
    private RaftNode? _node;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
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
    public async Task StartAsync_WithASnapshotAndALogTail_RestoresTheSnapshotThenAppliesTheTail()
    {
        await _logStore.AppendAsync(Commands(1, 15, term: 1));
        await _logStore.CompactAsync(8);
        await _hardStateStore.SaveAsync(new HardState(1, "solo", 15));
        await StoreSnapshotAsync(new SnapshotMetadata(10, 1, Solo), Commands(1, 10, term: 1));

        var node = await StartAsync();

        // The snapshot is restored before StartAsync returns; the tail follows.
        Assert.Equal(Enumerable.Range(1, 10).Select(i => ((long)i, $"c{i}")), _stateMachine.Applied.Take(10));
        await Eventually.TrueAsync(() => _stateMachine.Applied.Any(a => a.Index == 15), "the log tail to be applied");
        Assert.Equal(Enumerable.Range(1, 15).Select(i => ((long)i, $"c{i}")), _stateMachine.Applied.Take(15));
        Assert.Equal(11, node.Status.FirstIndex);
    }

    // A crash after a snapshot from the leader was stored but before the log was reset leaves the old log behind.
    [Fact]
    public async Task StartAsync_LogEndingBeforeTheSnapshot_ResetsTheLogToStartAfterIt()
    {
        await _logStore.AppendAsync(Commands(1, 4, term: 1));
        await _hardStateStore.SaveAsync(new HardState(2, null, 4));
        await StoreSnapshotAsync(new SnapshotMetadata(30, 2, Solo), Commands(1, 30, term: 2));

        var node = await StartAsync();

        Assert.Equal(31, _logStore.FirstIndex);
        Assert.Equal(30, _stateMachine.Applied.Where(a => a.Index <= 30).Last().Index);
        var next = await ProposeAsLeaderAsync(node, "next");
        Assert.True(next.Index > 30);
    }

    [Fact]
    public async Task StartAsync_LogDisagreeingAtTheSnapshotIndex_ResetsTheLog()
    {
        // The log has an uncommitted entry of term 1 at index 6; the snapshot says index 6 has term 2.
        await _logStore.AppendAsync(Commands(1, 8, term: 1));
        await _hardStateStore.SaveAsync(new HardState(2, null, 3));
        await StoreSnapshotAsync(new SnapshotMetadata(6, 2, Solo), Commands(1, 6, term: 2));

        await StartAsync();

        Assert.Equal(7, _logStore.FirstIndex);
        Assert.All(await _logStore.ReadAsync(7, _logStore.LastIndex), e => Assert.True(e.Term > 2, "only entries of the new leader follow the snapshot"));
    }

    [Fact]
    public async Task StartAsync_LogAgreeingAtTheSnapshotIndex_KeepsTheEntriesAfterIt()
    {
        await _logStore.AppendAsync(Commands(1, 12, term: 1));
        await _hardStateStore.SaveAsync(new HardState(1, "solo", 12));
        await StoreSnapshotAsync(new SnapshotMetadata(6, 1, Solo), Commands(1, 6, term: 1));

        await StartAsync();

        RaftAssert.EntriesEqual(Commands(7, 12, term: 1), await _logStore.ReadAsync(7, 12));
        await Eventually.TrueAsync(() => _stateMachine.Applied.Any(a => a.Index == 12), "the entries after the snapshot to be applied");
    }

    [Fact]
    public async Task StartAsync_HardStateOlderThanTheSnapshot_RaisesTheTermWithoutAVote()
    {
        await _hardStateStore.SaveAsync(new HardState(1, "solo", 0));
        await StoreSnapshotAsync(new SnapshotMetadata(9, 4, Solo), Commands(1, 9, term: 4));

        var node = await StartAsync();

        Assert.True(node.Status.Term >= 4);
        Assert.True(_hardStateStore.State.Term >= 4);
    }

    [Fact]
    public async Task StartAsync_CompactedLogWithoutASnapshot_FailsSayingTheSnapshotStoreMustBeDurable()
    {
        await _logStore.AppendAsync(Commands(1, 10, term: 1));
        await _logStore.CompactAsync(5);

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(waitForLeader: false));

        Assert.Contains("snapshot", failure.Message, StringComparison.Ordinal);
        Assert.Contains("durable", failure.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(() => _node!.Completion);
    }

    [Fact]
    public async Task StartAsync_LogWithAHoleAfterTheSnapshot_Fails()
    {
        await _logStore.ResetAsync(20);
        await _logStore.AppendAsync(Commands(21, 25, term: 1));
        await StoreSnapshotAsync(new SnapshotMetadata(10, 1, Solo), Commands(1, 10, term: 1));

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(waitForLeader: false));

        Assert.Contains("missing", failure.Message, StringComparison.Ordinal);
    }

    // A partial or corrupt snapshot is never used: the store reports it, and the node refuses to start on a guess.
    [Fact]
    public async Task StartAsync_SnapshotStoreReportsCorruption_FailsClearly()
    {
        var corrupt = new CorruptSnapshotStore();
        _transport = _network.CreateTransport("solo");
        _node = new RaftNode(TestCluster.Options("solo", ["solo"]), _logStore, _hardStateStore, corrupt, _transport, _stateMachine);

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => _node.StartAsync());

        Assert.IsType<InvalidDataException>(failure.InnerException);
        Assert.Contains("corrupt", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StartAsync_StateMachineRejectsTheSnapshot_FailsClearly()
    {
        var writer = await _snapshotStore.CreateAsync(new SnapshotMetadata(3, 1, Solo));
        await using (writer)
        {
            await writer.Stream.WriteAsync(new byte[] { 1 });
            await writer.CommitAsync();
        }

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => StartAsync(waitForLeader: false));

        Assert.Contains("index 3", failure.Message, StringComparison.Ordinal);
    }

    private static Entry[] Commands(long from, long to, long term) =>
        [.. Enumerable.Range((int)from, (int)(to - from + 1)).Select(i => new Entry(i, term, EntryType.Normal, Encoding.UTF8.GetBytes($"c{i}")))];

    private static async Task<ProposalResult> ProposeAsLeaderAsync(RaftNode node, string command)
    {
        await Eventually.TrueAsync(() => node.IsLeader, "the single node to lead");
        return await node.ProposeAsync(Encoding.UTF8.GetBytes(command));
    }

    // A snapshot in the test state machine's format holding `entries`.
    private async Task StoreSnapshotAsync(SnapshotMetadata metadata, IEnumerable<Entry> entries)
    {
        var source = new TestStateMachine();
        foreach (var entry in entries)
        {
            await source.ApplyAsync(entry);
        }

        var writer = await _snapshotStore.CreateAsync(metadata);
        await using (writer)
        {
            await source.WriteSnapshotAsync(writer.Stream);
            await writer.CommitAsync();
        }
    }

    private async Task<RaftNode> StartAsync(bool waitForLeader = true)
    {
        _transport = _network.CreateTransport("solo");
        _node = new RaftNode(TestCluster.Options("solo", ["solo"]), _logStore, _hardStateStore, _snapshotStore, _transport, _stateMachine);
        await _node.StartAsync();
        if (waitForLeader)
        {
            await _node.WaitForLeaderAsync().WaitAsync(Eventually.DefaultTimeout);
        }

        return _node;
    }

    private sealed class CorruptSnapshotStore : ISnapshotStore
    {
        public ValueTask<ISnapshotWriter> CreateAsync(SnapshotMetadata metadata, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public ValueTask<SnapshotReader?> OpenLatestAsync(CancellationToken cancellationToken = default) =>
            ValueTask.FromException<SnapshotReader?>(new InvalidDataException("The newest snapshot fails its checksum."));
    }
}
