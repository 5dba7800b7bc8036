using Raft.Core.Engine;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Core.Tests.Runtime.Fakes;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Runtime;

// A node that elected itself as a lone voter and then grew the cluster leads it in the same term: its lease ticks must
// follow its clock as a leader elected by votes does (RaftNodeLeaseTests). Its leadership was noted only on a vote
// answer, so its ticks were its timer's firings again and a pause lengthened its lease (found by helper-46's review in
// session 30). Ticks are 10 s long, so the time the test takes never amounts to one.
public sealed class RaftNodeGrownClusterLeaseTests : IAsyncLifetime
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(10);

    private readonly ManualTimeProvider _time = new();
    private readonly ScriptedPeerTransport _peers = new();
    private readonly TestStateMachine _stateMachine = new();
    private RaftNode _node = null!;

    public async Task InitializeAsync()
    {
        var baseOptions = TestCluster.Options("n1", ["n1"]);
        var options = baseOptions with
        {
            Raft = baseOptions.Raft with { ReadOnlyOption = ReadOnlyOption.LeaseBased, LeaseClockDriftTicks = 2 },
            TickInterval = Tick,
            ReadTimeout = TimeSpan.FromDays(1),
            TransferLeadershipOnStop = false,
        };
        _node = new RaftNode(options, new InMemoryLogStore(), new InMemoryHardStateStore(), _peers, _stateMachine, _time);
        await _node.StartAsync();
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    [Fact]
    public async Task LoneVoterGrownToTwo_PausedLongerThanTheLease_DoesNotServeAReadFromIt()
    {
        await Eventually.TrueAsync(
            () =>
            {
                _time.Advance(Tick);
                _time.FireAll();
                return _node.IsLeader;
            },
            "n1 to elect itself");
        await Eventually.TrueAsync(() => _node.Status.CommitIndex >= 1, "the lone leader's no-op to commit");
        var term = _node.Status.Term;

        await _node.AddLearnerAsync("n2");
        var promote = _node.PromoteLearnerAsync("n2");
        await Eventually.TrueAsync(
            () =>
            {
                var append = _peers.LastSent(MessageType.AppendEntries, "n2");
                if (append is not null)
                {
                    _peers.Deliver(new Message { Type = MessageType.AppendEntriesResponse, From = "n2", To = "n1", Term = term, Index = append.Index + append.Entries.Count });
                }

                return promote.IsCompleted;
            },
            "n2 to be promoted");
        await promote;
        Assert.Contains("n2", _node.Status.Configuration!.Voters);

        // A heartbeat round that n2 answers: the lease runs from its tick.
        var before = _peers.CountSent(MessageType.Heartbeat, "n2");
        _time.Advance(Tick);
        _time.FireAll();
        await Eventually.TrueAsync(() => _peers.CountSent(MessageType.Heartbeat, "n2") > before, "a heartbeat round");
        _peers.Deliver(new Message { Type = MessageType.HeartbeatResponse, From = "n2", To = "n1", Term = term, Index = _peers.LastSent(MessageType.Heartbeat, "n2")!.Index });
        var first = _node.WaitForLinearizableReadAsync();
        Assert.True(await Completes(first, TimeSpan.FromSeconds(10)), "the confirmed round did not serve a read");

        // The process is paused for ten ticks (an election timeout): it wakes to one firing.
        before = _peers.CountSent(MessageType.Heartbeat, "n2");
        _time.Advance(Tick * 10);
        _time.FireAll();
        await Eventually.TrueAsync(() => !_node.IsLeader || _peers.CountSent(MessageType.Heartbeat, "n2") > before, "the firing to be taken");

        var read = _node.WaitForLinearizableReadAsync();
        Assert.False(await Completes(read, TimeSpan.FromSeconds(2)), "the leader served a read from a lease that ran out while it was paused");
    }

    private static async Task<bool> Completes(Task<long> read, TimeSpan within)
    {
        await Task.WhenAny(read, Task.Delay(within));
        return read.IsCompletedSuccessfully;
    }
}
