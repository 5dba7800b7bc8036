using System.Text;
using Raft.Core.Membership;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Core.Transport;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Runtime;

// What a follower does with a snapshot streamed to it (§7): it stores and installs one the engine will act on, and does
// not store one the engine would ignore (from a deposed leader's older term, or not past its commit index), which would
// only replace a newer snapshot in its store.
public sealed class RaftNodeSnapshotReceiveTests : IAsyncLifetime
{
    private static readonly ClusterConfiguration Voters = new(["n1", "n2", "n3"]);
    private readonly InMemorySnapshotStore _snapshots = new();
    private readonly HandlerCapturingTransport _transport = new();
    private readonly TestStateMachine _stateMachine = new();
    private RaftNode _node = null!;

    public async Task InitializeAsync()
    {
        var options = TestCluster.Options("n1", ["n1", "n2", "n3"]);

        // No election of its own during the test: the node only follows what the messages say.
        options = options with { Raft = options.Raft with { ElectionTick = 10_000 } };
        _node = new RaftNode(options, new InMemoryLogStore(), new InMemoryHardStateStore(), _snapshots, _transport, _stateMachine);
        await _node.StartAsync();

        // A leader n2 of term 5 makes itself known.
        _transport.Handler.Receive(new Message { Type = MessageType.Heartbeat, From = "n2", To = "n1", Term = 5 });
        await Eventually.TrueAsync(() => _node.Status.Term == 5 && _node.Status.LeaderId == "n2", "n1 to follow n2 in term 5");
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task ASnapshotFromTheCurrentLeader_IsStoredAndInstalled()
    {
        await _transport.Handler.ReceiveSnapshotAsync(InstallSnapshot(term: 5, index: 10), SnapshotData(10, "ten"));

        Assert.Equal(10, _snapshots.Latest?.Index);
        await Eventually.TrueAsync(() => _stateMachine.Applied.Count == 1, "the snapshot to be restored into the state machine");
        Assert.Equal([(10L, "ten")], _stateMachine.Applied);
    }

    [Fact]
    public async Task ASnapshotFromAnOlderTerm_IsNotStored_AndLeavesTheNewerOneInPlace()
    {
        await _transport.Handler.ReceiveSnapshotAsync(InstallSnapshot(term: 5, index: 10), SnapshotData(10, "ten"));
        await Eventually.TrueAsync(() => _stateMachine.Applied.Count == 1, "the current leader's snapshot to be restored");

        await _transport.Handler.ReceiveSnapshotAsync(InstallSnapshot(term: 4, index: 20), SnapshotData(20, "stale"));

        Assert.Equal(10, _snapshots.Latest?.Index);
        Assert.Equal(1, _snapshots.CommitCount);
        Assert.Equal(5, _node.Status.Term);
        Assert.Equal([(10L, "ten")], _stateMachine.Applied);
    }

    [Fact]
    public async Task ASnapshotNotPastTheCommitIndex_IsNotStoredAgain()
    {
        await _transport.Handler.ReceiveSnapshotAsync(InstallSnapshot(term: 5, index: 10), SnapshotData(10, "ten"));
        await Eventually.TrueAsync(() => _node.Status.CommitIndex >= 10, "the snapshot to move the commit index");

        await _transport.Handler.ReceiveSnapshotAsync(InstallSnapshot(term: 5, index: 8), SnapshotData(8, "older"));

        Assert.Equal(10, _snapshots.Latest?.Index);
        Assert.Equal(1, _snapshots.CommitCount);
    }

    private static Message InstallSnapshot(long term, long index) => new()
    {
        Type = MessageType.InstallSnapshot,
        From = "n2",
        To = "n1",
        Term = term,
        Snapshot = new SnapshotMetadata(index, term, Voters),
    };

    // TestStateMachine's snapshot format: the applied (index, command) pairs.
    private static MemoryStream SnapshotData(long index, string command)
    {
        var stream = new MemoryStream();
        using (var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(1);
            writer.Write(index);
            writer.Write(command);
        }

        stream.Position = 0;
        return stream;
    }

    private sealed class HandlerCapturingTransport : IRaftTransport
    {
        public IRaftMessageHandler Handler { get; private set; } = null!;

        public void Start(IRaftMessageHandler handler) => Handler = handler;

        public void Send(Message message)
        {
        }

        public Task SendSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
