using Raft.Core.Engine;
using Raft.Core.Membership;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Core.Tests.Runtime.Fakes;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Runtime;

// A leader's lease clock starts whatever made it leader. n2 becomes leader on a TimeoutNow: its leader n1 removed
// itself (the change takes effect when appended, so n2 is the only voter it knows) and handed leadership over. n2 then
// grows the cluster (n3) before its first tick, a read's round that n3 answers starts a lease, and the process is
// paused for an election timeout: it wakes to one firing. RaftNode noted leadership only on a vote answer or a tick,
// so this lease followed the firings (found by helper-48's review in session 30).
public sealed class RaftNodeTimeoutNowLeaseTests : IAsyncLifetime
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(10);

    private readonly ManualTimeProvider _time = new();
    private readonly ScriptedPeerTransport _peers = new();
    private readonly TestStateMachine _stateMachine = new();
    private RaftNode _node = null!;

    public async Task InitializeAsync()
    {
        var baseOptions = TestCluster.Options("n2", ["n1", "n2"]);
        var options = baseOptions with
        {
            Raft = baseOptions.Raft with { ReadOnlyOption = ReadOnlyOption.LeaseBased, LeaseClockDriftTicks = 2, CheckQuorum = true },
            TickInterval = Tick,
            ReadTimeout = TimeSpan.FromDays(1),
            TransferLeadershipOnStop = false,
        };
        _node = new RaftNode(options, new InMemoryLogStore(), new InMemoryHardStateStore(), _peers, _stateMachine, _time);
        await _node.StartAsync();
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task LeaderByTimeoutNow_GrownAndPausedLongerThanTheLease_DoesNotServeAReadFromIt()
    {
        var config = new ClusterConfiguration(["n2"]).Encode();
        _peers.Deliver(new Message
        {
            Type = MessageType.AppendEntries, From = "n1", To = "n2", Term = 1, Index = 0, LogTerm = 0, Commit = 0,
            Entries = [new Entry(1, 1, EntryType.NoOp, ReadOnlyMemory<byte>.Empty), new Entry(2, 1, EntryType.ConfigChange, config)],
        });
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.AppendEntriesResponse, "n1") is { Index: 2 }, "n2 to take n1's entries");
        _peers.Deliver(new Message { Type = MessageType.TimeoutNow, From = "n1", To = "n2", Term = 1 });
        await Eventually.TrueAsync(() => _node.IsLeader, "n2 to win alone");
        await Eventually.TrueAsync(() => _node.Status.CommitIndex >= 3, "n2's no-op to commit");
        var term = _node.Status.Term;

        await _node.AddLearnerAsync("n3");
        var promote = _node.PromoteLearnerAsync("n3");
        await Eventually.TrueAsync(
            () =>
            {
                var append = _peers.LastSent(MessageType.AppendEntries, "n3");
                if (append is not null)
                {
                    _peers.Deliver(new Message { Type = MessageType.AppendEntriesResponse, From = "n3", To = "n2", Term = term, Index = append.Index + append.Entries.Count });
                }

                return promote.IsCompleted;
            },
            "n3 to be promoted");
        await promote;
        Assert.Contains("n3", _node.Status.Configuration!.Voters);

        // A read: its heartbeat round, answered by n3, starts the lease.
        var before = _peers.CountSent(MessageType.Heartbeat, "n3");
        var first = _node.WaitForLinearizableReadAsync();
        await Eventually.TrueAsync(() => _peers.CountSent(MessageType.Heartbeat, "n3") > before, "a heartbeat round");
        _peers.Deliver(new Message { Type = MessageType.HeartbeatResponse, From = "n3", To = "n2", Term = term, Index = _peers.LastSent(MessageType.Heartbeat, "n3")!.Index });
        Assert.True(await Completes(first, TimeSpan.FromSeconds(10)), "the confirmed round did not serve a read");

        // Paused for ten ticks (an election timeout): it wakes to one firing.
        before = _peers.CountSent(MessageType.Heartbeat, "n3");
        _time.Advance(Tick * 10);
        _time.FireAll();
        await Eventually.TrueAsync(() => !_node.IsLeader || _peers.CountSent(MessageType.Heartbeat, "n3") > before, "the firing to be taken");

        var read = _node.WaitForLinearizableReadAsync();
        Assert.False(await Completes(read, TimeSpan.FromSeconds(2)), "the leader served a read from a lease that ran out while it was paused");
    }

    private static async Task<bool> Completes(Task<long> read, TimeSpan within)
    {
        await Task.WhenAny(read, Task.Delay(within));
        return read.IsCompletedSuccessfully;
    }
}
