using Raft.Core.Engine;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Core.Tests.Runtime.Fakes;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Runtime;

// Lease reads (ReadOnlyOption.LeaseBased) through RaftNode, whose leader counts its lease in ticks. The leader n1 runs
// for real; the test plays its followers n2 and n3 and its clock. ElectionTick is 10 and LeaseClockDriftTicks 2, so a
// lease lasts 7 ticks from the heartbeat round a follower confirmed. A tick is 10 s long, so that the time the test
// itself takes never amounts to one.
public sealed class RaftNodeLeaseTests : IAsyncLifetime
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(10);

    private readonly ManualTimeProvider _time = new();
    private readonly ScriptedPeerTransport _peers = new();
    private readonly TestStateMachine _stateMachine = new();
    private RaftNode _node = null!;
    private long _term;

    public async Task InitializeAsync()
    {
        var options = TestCluster.Options("n1", ["n1", "n2", "n3"]) with
        {
            Raft = TestCluster.Options("n1", ["n1", "n2", "n3"]).Raft with { ReadOnlyOption = ReadOnlyOption.LeaseBased, LeaseClockDriftTicks = 2 },
            TickInterval = Tick,
            ReadTimeout = TimeSpan.FromDays(1),
            TransferLeadershipOnStop = false,
        };
        _node = new RaftNode(options, new InMemoryLogStore(), new InMemoryHardStateStore(), _peers, _stateMachine, _time);
        await _node.StartAsync();
        await ElectAsync();
    }

    public async Task DisposeAsync() => await _node.DisposeAsync();

    // The lease is what serves the first read: no heartbeat round is answered for it.
    [Fact]
    public async Task Read_WithinTheLease_IsServedWithoutARoundTrip()
    {
        await ConfirmARoundAsync();
        await AdvanceAsync(ticks: 6);

        var read = _node.WaitForLinearizableReadAsync();

        Assert.True(await Completes(read), "a read within the lease waited for a heartbeat round");
    }

    // A paused process (a GC pause, a frozen VM) wakes to one timer firing however long it slept: the firings it missed
    // are lost. Counted in firings, the leader's lease would still run, although an election timeout has passed and its
    // followers may have elected another leader. The leader counts its ticks by its clock: after the pause its lease is
    // over, and the read waits for a heartbeat round that a majority answers.
    [Fact]
    public async Task Read_AfterAPauseLongerThanTheLease_WaitsForAHeartbeatRound()
    {
        await ConfirmARoundAsync();

        _time.Advance(Tick * 10);
        await FireAsync();
        var read = _node.WaitForLinearizableReadAsync();

        Assert.False(await Completes(read, expected: false), "the leader served a read from a lease that ran out while it was paused");
        Assert.True(_node.IsLeader, "the leader stepped down, although n2 answered within the check window");
        _peers.Deliver(HeartbeatResponse("n2"));
        Assert.True(await Completes(read), "the read did not complete once a majority answered a round sent after it");
    }

    // The same with the read first in line, before the tick event of the firing that wakes the loop: the clock is read
    // when the lease is, not only when the timer fires.
    [Fact]
    public async Task Read_AfterAPause_BeforeTheTimerFires_WaitsForAHeartbeatRound()
    {
        await ConfirmARoundAsync();
        var heartbeats = _peers.CountSent(MessageType.Heartbeat, "n2");

        _time.Advance(Tick * 10);
        var read = _node.WaitForLinearizableReadAsync();

        Assert.False(await Completes(read, expected: false), "the leader served a read from a lease that ran out while it was paused");
        await Eventually.TrueAsync(() => _peers.CountSent(MessageType.Heartbeat, "n2") > heartbeats, "a heartbeat round for the read");
        _peers.Deliver(HeartbeatResponse("n2"));
        Assert.True(await Completes(read), "the read did not complete once a majority answered a round sent after it");
    }

    // n1 campaigns on its own firings; n2 grants the pre-vote and the vote and takes the leader's first entry.
    private async Task ElectAsync()
    {
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
        await Eventually.TrueAsync(() => _node.IsLeader, "n1 to win the election");
        _term = vote.Term;

        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.AppendEntries, "n2") is not null, "the leader's first append");
        var append = _peers.LastSent(MessageType.AppendEntries, "n2")!;
        var last = append.Index + append.Entries.Count;
        _peers.Deliver(new Message { Type = MessageType.AppendEntriesResponse, From = "n2", To = "n1", Term = _term, Index = last });
        await Eventually.TrueAsync(() => _node.Status.CommitIndex >= last, "the leader's first entry to commit");
    }

    // A tick later, the leader's heartbeat round leaves and n2 answers it: the lease runs from that round's tick.
    private async Task ConfirmARoundAsync()
    {
        await AdvanceAsync(ticks: 1);
        _peers.Deliver(HeartbeatResponse("n2"));
        var read = _node.WaitForLinearizableReadAsync();
        Assert.True(await Completes(read), "the confirmed round did not serve a read");
    }

    // The clock moves on by whole ticks, each with its firing, taken one at a time.
    private async Task AdvanceAsync(int ticks)
    {
        for (var i = 0; i < ticks; i++)
        {
            _time.Advance(Tick);
            await FireAsync();
        }
    }

    // One firing, taken: the leader's heartbeat round for it has left.
    private async Task FireAsync()
    {
        var before = _peers.CountSent(MessageType.Heartbeat, "n2");
        _time.FireAll();
        await Eventually.TrueAsync(() => !_node.IsLeader || _peers.CountSent(MessageType.Heartbeat, "n2") > before, "the leader to take its ticks");
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
        To = "n1",
        Term = _term,
        Index = _peers.LastSent(MessageType.Heartbeat, from)?.Index ?? 0,
    };
}
