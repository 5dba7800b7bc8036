using Raft.Core.Engine;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Core.Tests.Runtime.Fakes;
using Raft.Testing.Conformance;

namespace Raft.Core.Tests.Runtime;

// Check-quorum (a leader steps down when no quorum answered for an election timeout) when the leader's loop was held
// and takes the ticks it missed at once. The leader n1 runs for real; the test plays its followers n2 and n3 and its
// clock, so that every tick is counted: ElectionTick is 10, HeartbeatTick 1, so each tick the leader takes sends a
// heartbeat to each follower.
public sealed class RaftNodeCheckQuorumTests : IAsyncLifetime
{
    private readonly ManualTimeProvider _time = new();
    private readonly ScriptedPeerTransport _peers = new();
    private readonly FaultyLogStore _log = new();
    private readonly TestStateMachine _stateMachine = new();
    private RaftNode _node = null!;
    private long _term;

    public async Task InitializeAsync()
    {
        // No hand-over on stop: the scripted followers would never take it, and this clock only moves when told. An
        // apply queue of one batch, so that a held state machine fills it at once.
        var options = TestCluster.Options("n1", ["n1", "n2", "n3"]) with { TransferLeadershipOnStop = false, MaxPendingApplyBatches = 1 };
        _node = new RaftNode(options, _log, new InMemoryHardStateStore(), _peers, _stateMachine, _time);
        await _node.StartAsync();
    }

    public async Task DisposeAsync()
    {
        _stateMachine.Gate?.TrySetResult();
        await _node.DisposeAsync();
    }

    [Fact]
    public async Task Leader_HeldThroughAnElectionTimeout_StaysLeader_WhenAFollowerAnsweredMeanwhile()
    {
        var hold = await HoldLeaderInAHeartbeatAsync();

        // Held in the send of its heartbeat: a tick fires (its event queues), n2 answers (queued behind it), and the
        // clock runs on past the end of the check window.
        var heartbeats = HeartbeatsSent();
        _time.FireAll();
        _peers.Deliver(HeartbeatResponse("n2"));
        for (var i = 0; i < 9; i++)
        {
            _time.FireAll();
        }

        hold.Release();
        await Eventually.TrueAsync(() => !_node.IsLeader || TookLateTicks(heartbeats), "the leader to take the ticks it missed");

        Assert.True(_node.IsLeader, "the leader stepped down although n2 answered within the election timeout");
        Assert.Equal(_term, _node.Status.Term);
    }

    // Held for more than two election timeouts (seen in the grpc benchmark: a leader's fsync took 317 ms beside a burst
    // of fdatasyncs): the late ticks cross the end of more than one check window, but only the first can be judged on
    // what arrived meanwhile. Judging the next ones on nothing deposed a leader whose follower had answered.
    [Fact]
    public async Task Leader_HeldThroughTwoElectionTimeouts_StaysLeader_WhenAFollowerAnsweredMeanwhile_AndStepsDownAWindowLaterWithoutAnswers()
    {
        var hold = await HoldLeaderInAHeartbeatAsync();

        _time.FireAll();
        _peers.Deliver(HeartbeatResponse("n2"));
        for (var i = 0; i < 24; i++)
        {
            _time.FireAll();
        }

        var heartbeats = HeartbeatsSent();
        hold.Release();
        await Eventually.TrueAsync(() => !_node.IsLeader || TookLateTicks(heartbeats), "the leader to take the ticks it missed");
        Assert.True(_node.IsLeader, "the leader stepped down although n2 answered while it was held");

        // Check-quorum still works: a whole window without answers, tick by tick, deposes it.
        for (var i = 0; i < 10 && _node.IsLeader; i++)
        {
            await TickOrStepDownAsync();
        }

        Assert.False(_node.IsLeader, "no follower answered for an election timeout, yet the leader stayed");
        Assert.Equal(_term, _node.Status.Term);
    }

    // The other side: a leader held just as long whose followers stayed quiet still steps down.
    [Fact]
    public async Task Leader_HeldThroughAnElectionTimeout_StepsDown_WhenNoFollowerAnswered()
    {
        var hold = await HoldLeaderInAHeartbeatAsync();

        for (var i = 0; i < 10; i++)
        {
            _time.FireAll();
        }

        hold.Release();
        await Eventually.TrueAsync(() => !_node.IsLeader, "check-quorum to depose the leader");

        Assert.Equal(StateRole.Follower, _node.Status.Role);
        Assert.Equal(_term, _node.Status.Term);
    }

    // A leader's own append that outlasts an election timeout (a stalled disk): its ticks wait for the write, but it
    // keeps heartbeating on its timer for an election timeout of firings, so that its followers do not campaign, and
    // their answers keep it leader once the ticks come. Then it falls silent: a write that hangs longer is a hung disk,
    // and its followers had better elect another. Before, it sent nothing until the write ended.
    [Fact]
    public async Task Leader_WhoseOwnAppendIsHeld_HeartbeatsForAnElectionTimeoutOfFirings_ThenFallsSilent_AndStaysLeaderWhenAFollowerAnswered()
    {
        await ElectAsync();
        await StartCheckWindowWithoutActiveFollowersAsync();
        var appends = _log.HoldAppends();
        int heartbeats;
        try
        {
            _ = _node.ProposeAsync("x"u8.ToArray());
            await Eventually.TrueAsync(() => _log.WaitingAppends > 0, "the leader's append to start");

            for (var i = 0; i < 10; i++)
            {
                var before = _peers.CountSent(MessageType.Heartbeat, "n2");
                _time.FireAll();
                await Eventually.TrueAsync(() => _peers.CountSent(MessageType.Heartbeat, "n2") > before, $"a heartbeat for firing {i + 1} while the append is held");
                _peers.Deliver(HeartbeatResponse("n2"));
            }

            heartbeats = _peers.CountSent(MessageType.Heartbeat, "n2");
            for (var i = 0; i < 15; i++)
            {
                _time.FireAll();
            }

            // Given the time it took for each of the firings above, the loop has long seen these fifteen.
            await Task.Delay(TimeSpan.FromMilliseconds(300));
            Assert.Equal(heartbeats, _peers.CountSent(MessageType.Heartbeat, "n2"));
            Assert.Equal(1, _log.WaitingAppends);
        }
        finally
        {
            // Released however the test ends: a node stops only once its writes have.
            appends.TrySetResult();
        }

        // The 25 late ticks come as a burst, with one heartbeat round; check-quorum judges it once, on n2's answers.
        await Eventually.TrueAsync(() => !_node.IsLeader || _peers.CountSent(MessageType.Heartbeat, "n2") > heartbeats, "the leader to take the ticks it missed");

        Assert.True(_node.IsLeader, "the leader stepped down although n2 answered its heartbeats while its append was held");
        Assert.Equal(_term, _node.Status.Term);
    }

    // A new leader's first append (its no-op, written in the ready that made it leader) that stalls: it heartbeats on
    // its timer meanwhile and steps its followers' answers, so that it stays leader once its ticks come; a proposal
    // waits for the write (the host takes on the new role only once the ready is advanced). Before, it sent nothing
    // until the write ended, and a stall of an election timeout right after an election deposed it.
    [Fact]
    public async Task NewLeader_WhoseFirstAppendIsHeld_HeartbeatsMeanwhile_AndStaysLeaderWhenAFollowerAnswered()
    {
        await PreCampaignAsync();
        var preVote = _peers.LastSent(MessageType.PreVote, "n2")!;
        _peers.Deliver(new Message { Type = MessageType.PreVoteResponse, From = "n2", To = "n1", Term = preVote.Term });
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.Vote, "n2") is not null, "n1 to ask for votes");
        _term = _peers.LastSent(MessageType.Vote, "n2")!.Term;

        var appends = _log.HoldAppends();
        Task<ProposalResult> proposal;
        try
        {
            _peers.Deliver(new Message { Type = MessageType.VoteResponse, From = "n2", To = "n1", Term = _term });
            await Eventually.TrueAsync(() => _log.WaitingAppends > 0, "the new leader's first append to start");
            proposal = _node.ProposeAsync("p"u8.ToArray());

            // n2 takes the no-op, which frees its window: p, had it been taken, would leave for n2 at once. n3 answers
            // a heartbeat without the no-op, and is sent it again: answers are stepped, not only read.
            Acknowledge("n2");
            var toN3 = _peers.CountSent(MessageType.AppendEntries, "n3");
            _peers.Deliver(new Message { Type = MessageType.HeartbeatResponse, From = "n3", To = "n1", Term = _term, Index = 0 });
            await Eventually.TrueAsync(() => _peers.CountSent(MessageType.AppendEntries, "n3") > toN3, "the no-op to be sent to n3 again");

            // Ten firings, an election timeout: each sends a heartbeat, which n2 answers.
            for (var i = 0; i < 10; i++)
            {
                var before = _peers.CountSent(MessageType.Heartbeat, "n2");
                _time.FireAll();
                await Eventually.TrueAsync(() => _peers.CountSent(MessageType.Heartbeat, "n2") > before, $"a heartbeat for firing {i + 1} while the first append is held");
                _peers.Deliver(HeartbeatResponse("n2"));
            }

            Assert.False(LeftFor("n2", "p"), "a proposal was taken during the new leader's first write");
            Assert.Equal(1, _log.WaitingAppends);
        }
        finally
        {
            appends.TrySetResult();
        }

        // The late ticks come as a burst; check-quorum judges it on n2's answers. Then p leaves for n2 (a proposal
        // refused by a node that stepped down would complete instead).
        await Eventually.TrueAsync(() => LeftFor("n2", "p") || proposal.IsCompleted, "p to leave for n2");
        Assert.True(_node.IsLeader, "the new leader stepped down although n2 answered its heartbeats during its first write");
        Assert.Equal(_term, _node.Status.Term);
        var p = Acknowledge("n2");
        Assert.Equal(p, (await proposal.WaitAsync(Eventually.DefaultTimeout)).Index);
    }

    // A firing that comes as the leader's append starts, before its loop can step anything, counts towards the
    // heartbeats too: counted from when the loop got round to it, it was missed (the CI run of 8befd8c timed out
    // waiting for the heartbeat of the test above's first firing). The firing races the loop getting there, so the
    // old count failed this test in most runs, not all.
    [Fact]
    public async Task Leader_WhoseTimerFiresAsItsOwnAppendStarts_HeartbeatsForThatFiring()
    {
        await ElectAsync();
        await StartCheckWindowWithoutActiveFollowersAsync();
        var appends = _log.HoldAppends();
        _log.OnHeld = () => _time.FireAll();
        try
        {
            var before = _peers.CountSent(MessageType.Heartbeat, "n2");
            _ = _node.ProposeAsync("x"u8.ToArray());
            await Eventually.TrueAsync(() => _peers.CountSent(MessageType.Heartbeat, "n2") > before, "a heartbeat for the firing as the append started");
            Assert.Equal(1, _log.WaitingAppends);
        }
        finally
        {
            _log.OnHeld = null;
            appends.TrySetResult();
        }
    }

    // A state machine that falls behind (a long snapshot on the applier) fills the apply queue, and the leader's loop
    // waits for room: it keeps heartbeating on its timer meanwhile and steps its followers' answers, so that it stays
    // leader once its ticks come, as while its own writes run. Before, it sent nothing until the applier took the next
    // batch, and its followers elected another leader. What commits meanwhile is applied after what waits.
    [Fact]
    public async Task Leader_WhoseApplierIsBehind_HeartbeatsWhileItWaitsForRoomToApply_AndStaysLeaderWhenAFollowerAnswered()
    {
        var applier = await FillApplyQueueAsync();

        // x2 will wait for room; x3 is written by the leader before x2 is acknowledged.
        await ProposeAsync("x2");
        var x2 = _peers.LastSent(MessageType.AppendEntries, "n2")!.Index + 1;
        _ = _node.ProposeAsync("x3"u8.ToArray());
        await Eventually.TrueAsync(() => _log.LastIndex > x2, "the leader to write x3");
        Acknowledge("n2");
        await Eventually.TrueAsync(() => LeftFor("n2", "x3"), "x3 to leave for n2");

        // Ten firings, an election timeout: each sends a heartbeat, which n2 answers.
        for (var i = 0; i < 10; i++)
        {
            var before = _peers.CountSent(MessageType.Heartbeat, "n2");
            _time.FireAll();
            await Eventually.TrueAsync(() => _peers.CountSent(MessageType.Heartbeat, "n2") > before, $"a heartbeat for firing {i + 1} while the applier is behind");
            _peers.Deliver(HeartbeatResponse("n2"));
        }

        // n2's acknowledgement of x3 commits it meanwhile.
        var x3 = Acknowledge("n2");
        await Eventually.TrueAsync(() => _node.Status.CommitIndex >= x3, "x3 to commit while the applier is behind");
        Assert.Equal(1, _stateMachine.GateWaiters);
        var heartbeats = _peers.CountSent(MessageType.Heartbeat, "n2");
        applier.SetResult();
        await Eventually.TrueAsync(() => _stateMachine.Applied.Any(a => a.Index == x3), "x3 to be applied");
        await TickOrStepDownAsync();

        Assert.True(_node.IsLeader, "the leader stepped down although n2 answered its heartbeats while its applier was behind");
        Assert.Equal(_term, _node.Status.Term);
        Assert.True(_peers.CountSent(MessageType.Heartbeat, "n2") > heartbeats);
        Assert.Equal(["x0", "x1", "x2", "x3"], _stateMachine.Applied.Select(a => a.Command).Where(c => c.StartsWith('x')));
    }

    // A leader stopped while its loop waits for room to apply stops, and every proposal it took completes.
    [Fact]
    public async Task Leader_StoppedWhileWaitingForRoomToApply_Stops_AndEveryProposalCompletes()
    {
        await FillApplyQueueAsync();
        var waiting = _node.ProposeAsync("x2"u8.ToArray());
        await Eventually.TrueAsync(() => LeftFor("n2", "x2"), "x2 to leave for n2");
        var x2 = Acknowledge("n2");
        await Eventually.TrueAsync(() => _node.Status.CommitIndex >= x2, "x2 to commit");
        var taken = _node.ProposeAsync("x3"u8.ToArray());
        await Eventually.TrueAsync(() => LeftFor("n2", "x3"), "x3 to be taken while the loop waits for room");

        await _node.StopAsync().WaitAsync(Eventually.DefaultTimeout);

        await Task.WhenAny(waiting, Task.Delay(Eventually.DefaultTimeout));
        await Task.WhenAny(taken, Task.Delay(Eventually.DefaultTimeout));
        Assert.True(waiting.IsCompleted, "x2's proposal never completed");
        Assert.True(taken.IsCompleted, "x3's proposal never completed");
    }

    // A leader taking late ticks proposes the proposals queued behind them at once: left for later, they would be
    // overtaken by proposals that arrive while the writes of its next ready run (review of 8ef6d34).
    [Fact]
    public async Task Leader_TakingLateTicks_AppendsProposalsInTheOrderTheyArrived()
    {
        await ElectAsync();
        var hold = _peers.HoldNextSend();
        _time.FireAll();
        await hold.Blocked.WaitAsync(Eventually.DefaultTimeout);

        // Held in a send: p0, two late ticks, p1 queue up; the next append will be held too.
        _ = _node.ProposeAsync("p0"u8.ToArray());
        _time.FireAll();
        _time.FireAll();
        _ = _node.ProposeAsync("p1"u8.ToArray());
        var appends = _log.HoldAppends();
        var sentBefore = _peers.CountSent(MessageType.AppendEntries, "n2");
        hold.Release();
        await Eventually.TrueAsync(() => _log.WaitingAppends > 0, "the leader's next append to start");

        // While it runs, n2 takes what it was sent (which frees its window) and p2 arrives and leaves for n2.
        await Eventually.TrueAsync(() => _peers.CountSent(MessageType.AppendEntries, "n2") > sentBefore, "an append to n2");
        var append = _peers.LastSent(MessageType.AppendEntries, "n2")!;
        _peers.Deliver(new Message { Type = MessageType.AppendEntriesResponse, From = "n2", To = "n1", Term = _term, Index = append.Index + append.Entries.Count });
        _ = _node.ProposeAsync("p2"u8.ToArray());
        await Eventually.TrueAsync(() => _peers.Sent.Any(m => m.To == "n2" && m.Entries.Any(e => e.Data.Span.SequenceEqual("p2"u8))), "p2 to leave for n2");
        appends.SetResult();
        await Eventually.TrueAsync(() => _log.LastIndex >= 4, "the three proposals to be written");

        var written = await _log.ReadAsync(2, 4);
        Assert.Equal(["p0", "p1", "p2"], written.Select(e => System.Text.Encoding.UTF8.GetString(e.Data.Span)));
    }

    // A new leader takes no proposal while its first write runs: p0 waits behind the ticks that fired meanwhile. Those
    // ticks are late, so the leader steps what waits in the channel before taking them, and p1, which arrived once the
    // write had ended, was proposed there, ahead of p0 (review of session 30). It now waits behind p0.
    [Fact]
    public async Task NewLeader_TakingLateTicksAfterItsFirstWrite_AppendsProposalsInTheOrderTheyArrived()
    {
        await PreCampaignAsync();
        var preVote = _peers.LastSent(MessageType.PreVote, "n2")!;
        _peers.Deliver(new Message { Type = MessageType.PreVoteResponse, From = "n2", To = "n1", Term = preVote.Term });
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.Vote, "n2") is not null, "n1 to ask for votes");
        _term = _peers.LastSent(MessageType.Vote, "n2")!.Term;

        var appends = _log.HoldAppends();
        ScriptedPeerTransport.SendHold? hold = null;
        try
        {
            _peers.Deliver(new Message { Type = MessageType.VoteResponse, From = "n2", To = "n1", Term = _term });
            await Eventually.TrueAsync(() => _log.WaitingAppends > 0, "the new leader's first append to start");

            // Two firings (late ticks) and p0 wait for the write.
            for (var i = 0; i < 2; i++)
            {
                var beats = _peers.CountSent(MessageType.Heartbeat, "n2");
                _time.FireAll();
                await Eventually.TrueAsync(() => _peers.CountSent(MessageType.Heartbeat, "n2") > beats, $"a heartbeat for firing {i + 1} while the first append is held");
            }

            _ = _node.ProposeAsync("p0"u8.ToArray());

            // The loop is held in a send (n3 is sent the no-op again) while the write ends and p1 arrives behind it.
            hold = _peers.HoldNextSend();
            _peers.Deliver(new Message { Type = MessageType.HeartbeatResponse, From = "n3", To = "n1", Term = _term, Index = 0 });
            await hold.Blocked.WaitAsync(Eventually.DefaultTimeout);
            appends.SetResult();
            await Task.Delay(100);
            _ = _node.ProposeAsync("p1"u8.ToArray());
        }
        finally
        {
            appends.TrySetResult();
            hold?.Release();
        }

        await Eventually.TrueAsync(() => _log.LastIndex >= 3, "p0 and p1 to be written");
        var written = await _log.ReadAsync(2, 3);
        Assert.Equal(["p0", "p1"], written.Select(e => System.Text.Encoding.UTF8.GetString(e.Data.Span)));
    }

    // The ticks that fired while a candidate's loop was held, before it stepped the vote that made it leader, are not
    // leader time: counted as such they would end its first check-quorum window before any follower could answer.
    [Fact]
    public async Task Candidate_HeldWhileItsClockRan_BecomesLeaderWithAWholeCheckWindow()
    {
        await PreCampaignAsync();
        var hold = _peers.HoldNextSend();
        _peers.Deliver(new Message { Type = MessageType.PreVoteResponse, From = "n2", To = "n1", Term = _peers.LastSent(MessageType.PreVote, "n2")!.Term });
        await hold.Blocked.WaitAsync(Eventually.DefaultTimeout);

        // Held in the send of its vote requests: n2's vote arrives, then the clock runs past an election timeout.
        _term = _node.Status.Term + 1;
        _peers.Deliver(new Message { Type = MessageType.VoteResponse, From = "n2", To = "n1", Term = _term });
        for (var i = 0; i < 12; i++)
        {
            _time.FireAll();
        }

        hold.Release();

        // n2 takes the leader's first entry: only a node still leading commits it.
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.AppendEntries, "n2") is { Entries.Count: > 0 }, "the leader's first append");
        var append = _peers.LastSent(MessageType.AppendEntries, "n2")!;
        _peers.Deliver(new Message { Type = MessageType.AppendEntriesResponse, From = "n2", To = "n1", Term = _term, Index = append.Index + append.Entries.Count });
        await Eventually.TrueAsync(() => _node.Status.CommitIndex >= append.Index + append.Entries.Count, "the leader's first entry to commit", TimeSpan.FromSeconds(5));

        Assert.True(_node.IsLeader, "the new leader stepped down before its followers could answer its first append");
        Assert.Equal(_term, _node.Status.Term);
    }

    private async Task PreCampaignAsync() => await Eventually.TrueAsync(
        () =>
        {
            _time.FireAll();
            return _peers.LastSent(MessageType.PreVote, "n2") is not null;
        },
        "n1 to ask for pre-votes");

    // n1 campaigns on its own ticks; the test's followers grant the pre-vote and the vote.
    private async Task ElectAsync()
    {
        await PreCampaignAsync();
        var preVote = _peers.LastSent(MessageType.PreVote, "n2")!;
        _peers.Deliver(new Message { Type = MessageType.PreVoteResponse, From = "n2", To = "n1", Term = preVote.Term });
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.Vote, "n2") is not null, "n1 to ask for votes");
        var vote = _peers.LastSent(MessageType.Vote, "n2")!;
        _peers.Deliver(new Message { Type = MessageType.VoteResponse, From = "n2", To = "n1", Term = vote.Term });
        await Eventually.TrueAsync(() => _node.IsLeader, "n1 to win the election");
        _term = vote.Term;

        // n2 takes the leader's first entry: the entry commits, and n2 counts as active in this check window.
        await Eventually.TrueAsync(() => _peers.LastSent(MessageType.AppendEntries, "n2") is not null, "the leader's first append");
        var append = _peers.LastSent(MessageType.AppendEntries, "n2")!;
        var last = append.Index + append.Entries.Count;
        _peers.Deliver(new Message { Type = MessageType.AppendEntriesResponse, From = "n2", To = "n1", Term = _term, Index = last });
        await Eventually.TrueAsync(() => _node.Status.CommitIndex >= last, "the leader's first entry to commit");
    }

    // Elected, one check window passed, then held by the test in the send of the heartbeat of the next tick.
    // Heartbeats sent to n2 and n3 so far.
    private (int N2, int N3) HeartbeatsSent() => (_peers.CountSent(MessageType.Heartbeat, "n2"), _peers.CountSent(MessageType.Heartbeat, "n3"));

    // The leader held in a heartbeat round (HoldLeaderInAHeartbeatAsync: its first message is held, so `before` counts
    // none of that round) finished that round and took its late ticks, which send one round of their own.
    private bool TookLateTicks((int N2, int N3) before) =>
        HeartbeatsSent() is var now && now.N2 >= before.N2 + 2 && now.N3 >= before.N3 + 2;

    private async Task<ScriptedPeerTransport.SendHold> HoldLeaderInAHeartbeatAsync()
    {
        await ElectAsync();
        await StartCheckWindowWithoutActiveFollowersAsync();
        var hold = _peers.HoldNextSend();
        _time.FireAll();
        await hold.Blocked.WaitAsync(Eventually.DefaultTimeout);
        return hold;
    }

    // The election timeout since the election passes one tick at a time: its check finds n2 active (it took the first
    // entry) and the leader stays, and the next window starts with no follower active.
    private async Task StartCheckWindowWithoutActiveFollowersAsync()
    {
        for (var i = 0; i < 10; i++)
        {
            await TickAsync();
        }

        Assert.True(_node.IsLeader);
    }

    // One tick, taken: the leader's heartbeat to n2 for it has left.
    private async Task TickAsync()
    {
        var before = _peers.CountSent(MessageType.Heartbeat, "n2");
        _time.FireAll();
        await Eventually.TrueAsync(() => _peers.CountSent(MessageType.Heartbeat, "n2") > before, "the leader to take a tick");
    }

    // One tick, taken (its heartbeat left) or ending the leadership.
    private async Task TickOrStepDownAsync()
    {
        var before = _peers.CountSent(MessageType.Heartbeat, "n2");
        _time.FireAll();
        await Eventually.TrueAsync(() => !_node.IsLeader || _peers.CountSent(MessageType.Heartbeat, "n2") > before, "the leader to take a tick");
    }

    // The applier holds x0 and the apply queue (one batch) holds x1, both acknowledged by n2 and committed: the next
    // commit makes the loop wait for room. Returns the applier's gate.
    private async Task<TaskCompletionSource> FillApplyQueueAsync()
    {
        await ElectAsync();
        await StartCheckWindowWithoutActiveFollowersAsync();
        var applier = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _stateMachine.Gate = applier;
        await ProposeAsync("x0");
        Acknowledge("n2");
        await Eventually.TrueAsync(() => _stateMachine.GateWaiters == 1, "the applier to take x0");
        await ProposeAsync("x1");
        var x1 = Acknowledge("n2");
        await Eventually.TrueAsync(() => _node.Status.CommitIndex >= x1, "x1 to commit");
        return applier;
    }

    private async Task ProposeAsync(string command)
    {
        _ = _node.ProposeAsync(System.Text.Encoding.UTF8.GetBytes(command));
        await Eventually.TrueAsync(() => LeftFor("n2", command), $"{command} to leave for n2");
    }

    private bool LeftFor(string follower, string command) =>
        _peers.Sent.Any(m => m.To == follower && m.Entries.Any(e => e.Data.Span.SequenceEqual(System.Text.Encoding.UTF8.GetBytes(command))));

    // `follower` acknowledges the last AppendEntries it was sent; returns the index acknowledged.
    private long Acknowledge(string follower)
    {
        var append = _peers.LastSent(MessageType.AppendEntries, follower)!;
        var index = append.Index + append.Entries.Count;
        _peers.Deliver(new Message { Type = MessageType.AppendEntriesResponse, From = follower, To = "n1", Term = _term, Index = index });
        return index;
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
