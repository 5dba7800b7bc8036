using Raft.Core.Engine;
using Raft.Core.Membership;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Core.Tests.Runtime.Fakes;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Runtime;

// Lease reads (ReadOnlyOption.LeaseBased) through RaftNode, whose leader counts its lease in ticks of its monotonic
// clock. The leader runs for real; the test plays its followers and its clock. ElectionTick is 10 and
// LeaseClockDriftTicks 2, so a lease lasts 7 ticks from the heartbeat round a follower confirmed. A tick is 10 s long,
// so that the time the test itself takes never amounts to one.
public sealed class RaftNodeLeaseTests : IAsyncLifetime
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(10);

    private readonly ManualTimeProvider _time = new();
    private readonly ScriptedPeerTransport _peers = new();
    private RaftNode? _node;
    private string _id = "n1";
    private long _term;

    private RaftNode Node => _node!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }
    }

    // The lease is what serves the read: no heartbeat round is answered for it.
    [Fact]
    public async Task Read_WithinTheLease_IsServedWithoutARoundTrip()
    {
        await ElectLeaderOfThreeAsync();
        await ConfirmARoundAsync("n2");
        await AdvanceAsync(ticks: 6);

        var read = Node.WaitForLinearizableReadAsync();

        Assert.True(await Completes(read), "a read within the lease waited for a heartbeat round");
    }

    // A paused process (a GC pause, SIGSTOP) wakes to one timer firing however long it slept: the firings it missed are
    // lost. Counted in firings, the leader's lease would still run, although an election timeout has passed and its
    // followers may have elected another leader. The leader counts its ticks by its clock: after the pause its lease is
    // over, and the read waits for a heartbeat round that a majority answers.
    [Fact]
    public async Task Read_AfterAPauseLongerThanTheLease_WaitsForAHeartbeatRound()
    {
        await ElectLeaderOfThreeAsync();
        await ConfirmARoundAsync("n2");

        _time.Advance(Tick * 10);
        await FireAsync("n2");
        var read = Node.WaitForLinearizableReadAsync();

        Assert.False(await Completes(read, expected: false), "the leader served a read from a lease that ran out while it was paused");
        Assert.True(Node.IsLeader, "the leader stepped down, although n2 answered within the check window");
        _peers.Deliver(HeartbeatResponse("n2"));
        Assert.True(await Completes(read), "the read did not complete once a majority answered a round sent after it");
    }

    // The same with the read first in line, before the tick event of the firing that wakes the loop: the clock is read
    // when the lease is, not only when the timer fires.
    [Fact]
    public async Task Read_AfterAPause_BeforeTheTimerFires_WaitsForAHeartbeatRound()
    {
        await ElectLeaderOfThreeAsync();
        await ConfirmARoundAsync("n2");
        var heartbeats = _peers.CountSent(MessageType.Heartbeat, "n2");

        _time.Advance(Tick * 10);
        var read = Node.WaitForLinearizableReadAsync();

        Assert.False(await Completes(read, expected: false), "the leader served a read from a lease that ran out while it was paused");
        await Eventually.TrueAsync(() => _peers.CountSent(MessageType.Heartbeat, "n2") > heartbeats, "a heartbeat round for the read");
        _peers.Deliver(HeartbeatResponse("n2"));
        Assert.True(await Completes(read), "the read did not complete once a majority answered a round sent after it");
    }

    // A lone voter elects itself on a tick, then grows the cluster and leads it in the same term. Its leadership was
    // noted only on a vote answer, so its ticks were its firings again and a pause lengthened its lease (found by
    // helper-46's review in session 30).
    [Fact]
    public async Task LoneVoterGrownToTwo_PausedLongerThanTheLease_DoesNotServeAReadFromIt()
    {
        await StartAsync("n1", ["n1"]);
        await Eventually.TrueAsync(
            () =>
            {
                _time.Advance(Tick);
                _time.FireAll();
                return Node.IsLeader;
            },
            "n1 to elect itself");
        await Eventually.TrueAsync(() => Node.Status.CommitIndex >= 1, "the lone leader's no-op to commit");

        await GrowPauseAndReadAsync("n2");
    }

    // n2 becomes leader on a TimeoutNow: its leader n1 removed itself (the change takes effect when appended, so n2 is
    // the only voter it knows) and handed leadership over. Noted only on a vote answer or a tick, this leadership's
    // lease followed the firings (found by helper-48's review in session 30).
    [Fact]
    public async Task LeaderByTimeoutNow_GrownAndPausedLongerThanTheLease_DoesNotServeAReadFromIt()
    {
        await StartAsync("n2", ["n1", "n2"]);
        var config = new ClusterConfiguration(["n2"]).Encode();
        _peers.Deliver(new Message
        {
            Type = MessageType.AppendEntries, From = "n1", To = "n2", Term = 1, Index = 0, LogTerm = 0, Commit = 0,
            Entries = [new Entry(1, 1, EntryType.NoOp, ReadOnlyMemory<byte>.Empty), new Entry(2, 1, EntryType.ConfigChange, config)],
        });
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.AppendEntriesResponse, "n1") is { Index: 2 }, "n2 to take n1's entries");
        _peers.Deliver(new Message { Type = MessageType.TimeoutNow, From = "n1", To = "n2", Term = 1 });
        await Eventually.TrueAsync(() => Node.IsLeader, "n2 to win alone");
        await Eventually.TrueAsync(() => Node.Status.CommitIndex >= 3, "n2's no-op to commit");

        await GrowPauseAndReadAsync("n3");
    }

    private async Task StartAsync(string id, string[] voters)
    {
        _id = id;
        var defaults = TestCluster.Options(id, voters);
        var options = defaults with
        {
            Raft = defaults.Raft with { ReadOnlyOption = ReadOnlyOption.LeaseBased, LeaseClockDriftTicks = 2 },
            TickInterval = Tick,
            ReadTimeout = TimeSpan.FromDays(1),
            TransferLeadershipOnStop = false,
        };
        _node = new RaftNode(options, new InMemoryLogStore(), new InMemoryHardStateStore(), _peers, new TestStateMachine(), _time);
        await _node.StartAsync();
    }

    // n1 campaigns on its own firings; n2 grants the pre-vote and the vote and takes the leader's first entry.
    private async Task ElectLeaderOfThreeAsync()
    {
        await StartAsync("n1", ["n1", "n2", "n3"]);
        await Eventually.TrueAsync(
            () =>
            {
                _time.Advance(Tick);
                _time.FireAll();
                return _peers.LastSent(MessageType.PreVote, "n2") is not null;
            },
            "n1 to ask for pre-votes");
        var preVote = _peers.LastSent(MessageType.PreVote, "n2")!;
        _peers.Deliver(new Message { Type = MessageType.PreVoteResponse, From = "n2", To = "n1", Term = preVote.Term });
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.Vote, "n2") is not null, "n1 to ask for votes");
        var vote = _peers.LastSent(MessageType.Vote, "n2")!;
        _peers.Deliver(new Message { Type = MessageType.VoteResponse, From = "n2", To = "n1", Term = vote.Term });
        await Eventually.TrueAsync(() => Node.IsLeader, "n1 to win the election");

        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.AppendEntries, "n2") is not null, "the leader's first append");
        var append = _peers.LastSent(MessageType.AppendEntries, "n2")!;
        var last = append.Index + append.Entries.Count;
        _peers.Deliver(new Message { Type = MessageType.AppendEntriesResponse, From = "n2", To = "n1", Term = vote.Term, Index = last });
        await Eventually.TrueAsync(() => Node.Status.CommitIndex >= last, "the leader's first entry to commit");
    }

    // The leader adds `voter` (which takes everything it is sent), a round it answers starts a lease, then the process
    // is paused for ten ticks (an election timeout) and wakes to one firing: a read must not be served from that lease.
    private async Task GrowPauseAndReadAsync(string voter)
    {
        _term = Node.Status.Term;
        await Node.AddLearnerAsync(voter);
        var promote = Node.PromoteLearnerAsync(voter);
        await Eventually.TrueAsync(
            () =>
            {
                if (_peers.LastSent(MessageType.AppendEntries, voter) is { } append)
                {
                    _peers.Deliver(new Message { Type = MessageType.AppendEntriesResponse, From = voter, To = _id, Term = _term, Index = append.Index + append.Entries.Count });
                }

                return promote.IsCompleted;
            },
            $"{voter} to be promoted");
        await promote;
        Assert.Contains(voter, Node.Status.Configuration!.Voters);
        await ConfirmARoundAsync(voter);

        _time.Advance(Tick * 10);
        await FireAsync(voter);
        var read = Node.WaitForLinearizableReadAsync();

        Assert.False(await Completes(read, expected: false), "the leader served a read from a lease that ran out while it was paused");
    }

    // A tick later, the leader's heartbeat round leaves and `voter` answers it: the lease runs from that round's tick.
    private async Task ConfirmARoundAsync(string voter)
    {
        _term = Node.Status.Term;
        await AdvanceAsync(ticks: 1, voter);
        _peers.Deliver(HeartbeatResponse(voter));
        var read = Node.WaitForLinearizableReadAsync();
        Assert.True(await Completes(read), "the confirmed round did not serve a read");
    }

    // The clock moves on by whole ticks, each with its firing, taken one at a time.
    private async Task AdvanceAsync(int ticks, string voter = "n2")
    {
        for (var i = 0; i < ticks; i++)
        {
            _time.Advance(Tick);
            await FireAsync(voter);
        }
    }

    // One firing, taken: the leader's heartbeat round for it has left (or it stepped down).
    private async Task FireAsync(string voter)
    {
        var before = _peers.CountSent(MessageType.Heartbeat, voter);
        _time.FireAll();
        await Eventually.TrueAsync(() => !Node.IsLeader || _peers.CountSent(MessageType.Heartbeat, voter) > before, "the leader to take its ticks");
    }

    // Whether the read completes: given up to 10 s where it must (a loaded machine is slow), a second where it must not.
    private static async Task<bool> Completes(Task<long> read, bool expected = true)
    {
        await Task.WhenAny(read, Task.Delay(expected ? TimeSpan.FromSeconds(10) : TimeSpan.FromSeconds(1)));
        return read.IsCompletedSuccessfully;
    }

    private Message HeartbeatResponse(string from) => new()
    {
        Type = MessageType.HeartbeatResponse,
        From = from,
        To = _id,
        Term = _term,
        Index = _peers.LastSent(MessageType.Heartbeat, from)?.Index ?? 0,
    };
}
