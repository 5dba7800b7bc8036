using Raft.Core.Engine;
using Raft.Core.Messages;

namespace Raft.Core.Tests.Engine;

// The follower's side of a lease (thesis §6.4.1): once it answered a leader, a node refuses votes for an election
// timeout. That promise must survive a change of term that is not its leader's doing. It lived in LeaderId and the election timer, which any newer-term message
// that is neither a vote request nor a leader's resets: moved to a candidate's term by a stale vote answer, the
// follower took that candidate's vote request as one of its own term, skipped the lease, voted, and the old leader
// served a stale lease read (found by helper-46's review in session 30). Perfect clocks (LeaseClockDriftTicks 0, no
// tick on any node during the end of the scenario), no pre-vote. Three engines, driven message by message.
public sealed class LeasePromiseTests
{
    private readonly Dictionary<string, RawNode> _nodes = new();
    private readonly List<Message> _inFlight = [];
    private readonly List<ReadState> _readsServed = [];

    private static RaftOptions Options(string id, int seed, bool preVote = false) => new()
    {
        Id = id,
        Voters = ["a", "b", "c"],
        ElectionTick = 10,
        HeartbeatTick = 1,
        CheckQuorum = true,
        PreVote = preVote,
        ReadOnlyOption = ReadOnlyOption.LeaseBased,
        LeaseClockDriftTicks = 0,
        RandomSeed = seed,
    };

    // Takes every node's ready, "persists" it at once and puts its messages in flight.
    private void Process()
    {
        var progress = true;
        while (progress)
        {
            progress = false;
            foreach (var (id, node) in _nodes)
            {
                if (!node.HasReady())
                {
                    continue;
                }

                progress = true;
                var ready = node.GetReady();
                _inFlight.AddRange(ready.Messages);
                _inFlight.AddRange(ready.PersistedMessages);
                if (id == "a")
                {
                    _readsServed.AddRange(ready.ReadStates);
                }

                node.Advance(ready);
            }
        }
    }

    // Delivers the messages in flight that `allow` lets through (others are dropped unless `hold` keeps them), until none is left.
    private void Deliver(Func<Message, bool> allow, Func<Message, bool>? hold = null)
    {
        Process();
        var held = new List<Message>();
        while (_inFlight.Count > 0)
        {
            var batch = _inFlight.ToList();
            _inFlight.Clear();
            foreach (var m in batch)
            {
                if (hold?.Invoke(m) == true)
                {
                    held.Add(m);
                }
                else if (allow(m))
                {
                    _nodes[m.To].Step(m);
                }
            }

            Process();
        }

        _inFlight.AddRange(held);
    }

    [Fact]
    public void FollowerMovedToANewerTermByAStaleVoteAnswer_StillRefusesVotesWithinTheLeaseItGranted()
    {
        _nodes["a"] = new RawNode(Options("a", 1));
        _nodes["b"] = new RawNode(Options("b", 2));
        _nodes["c"] = new RawNode(Options("c", 3));

        // Past the startup lease (a node refuses votes for an election timeout after starting); nobody hears anyone.
        for (var i = 0; i < 10; i++)
        {
            foreach (var node in _nodes.Values)
            {
                node.Tick();
            }
        }

        Process();
        _inFlight.Clear();
        Assert.All(_nodes.Values, n => Assert.Equal(StateRole.Follower, n.Status.Role));

        // a and b campaign in term 1 at once. b's vote request to c is delayed in the network. c votes for a.
        _nodes["a"].Campaign();
        _nodes["b"].Campaign();
        Process();
        var staleVoteRequest = Assert.Single(_inFlight, m => m.Type == MessageType.Vote && m.From == "b" && m.To == "c");
        _inFlight.Remove(staleVoteRequest);
        Deliver(_ => true);
        Assert.Equal(StateRole.Leader, _nodes["a"].Status.Role);
        Assert.Equal(1, _nodes["a"].Status.Term);
        Assert.Equal(1, _nodes["a"].Status.CommitIndex);
        Assert.Equal("a", _nodes["b"].Status.LeaderId);

        // One tick: a's heartbeat round, answered by b and c; a's lease runs from it. Then a read within it.
        foreach (var node in _nodes.Values)
        {
            node.Tick();
        }

        Deliver(_ => true);
        _nodes["a"].ReadIndex(new byte[] { 1 });
        Process();
        Assert.Single(_readsServed);

        // The link between a and c breaks. All nodes tick in step; b keeps answering a's heartbeats (renewing a's
        // lease), c hears nobody and campaigns in term 2 once its election timer runs out. Its vote request to b is
        // slow; b would ignore it anyway, since it heard from a within an election timeout.
        bool NotAC(Message m) => !((m.From == "a" && m.To == "c") || (m.From == "c" && m.To == "a"));
        Message? voteTwoToB = null;
        for (var i = 0; i < 40 && voteTwoToB is null; i++)
        {
            foreach (var node in _nodes.Values)
            {
                node.Tick();
            }

            Process();
            voteTwoToB = _inFlight.FirstOrDefault(m => m.Type == MessageType.Vote && m.From == "c" && m.To == "b");
            if (voteTwoToB is not null)
            {
                _inFlight.Remove(voteTwoToB);
            }

            Deliver(NotAC);
        }

        Assert.NotNull(voteTwoToB);
        Assert.Equal(2, _nodes["c"].Status.Term);
        Assert.Equal(StateRole.Leader, _nodes["a"].Status.Role);
        Assert.Equal("a", _nodes["b"].Status.LeaderId);

        // From now on a is cut off from everyone too, and no node ticks any more: a's lease, confirmed by b at the
        // last tick, is still good for ElectionTick - 1 ticks.
        bool NotA(Message m) => m.From != "a" && m.To != "a";

        // b's old vote request of term 1 finally reaches c, which answers "no" with its term 2; b takes that term and
        // forgets its leader, and with it the lease it promised a.
        _inFlight.Add(staleVoteRequest);
        Deliver(NotA);
        Assert.Equal(2, _nodes["b"].Status.Term);
        Assert.Null(_nodes["b"].Status.LeaderId);

        // c's vote request of term 2 arrives, now of b's own term: b forgot its leader, not its promise, and refuses.
        _inFlight.Add(voteTwoToB);
        Deliver(NotA);
        Assert.NotEqual(StateRole.Leader, _nodes["c"].Status.Role);
        Assert.Null(_nodes["b"].Status.VotedFor);

        // So no other leader can have committed anything, and a's read from its lease is still linearizable.
        _nodes["a"].ReadIndex(new byte[] { 2 });
        Process();
        Assert.Equal(1, Assert.Single(_readsServed, r => r.Context.Span[0] == 2).Index);

        // Once b's promise has run out (an election timeout of its ticks), b and c elect a leader between them.
        bool Led() => _nodes["b"].Status.Role == StateRole.Leader || _nodes["c"].Status.Role == StateRole.Leader;
        for (var i = 0; i < 60 && !Led(); i++)
        {
            _nodes["b"].Tick();
            _nodes["c"].Tick();
            Deliver(NotA);
        }

        Assert.True(Led(), "b and c elected no leader once b's promise to a had run out");
    }

    private void TickAll()
    {
        foreach (var node in _nodes.Values)
        {
            node.Tick();
        }
    }

    private static bool LeaderMessage(Message m) => m.Type is MessageType.AppendEntries or MessageType.Heartbeat or MessageType.InstallSnapshot;

    // Three nodes, each past the lease a node keeps for an election timeout after it starts, having heard nobody.
    private void StartPastTheStartupLease(int seedBase, bool preVote)
    {
        foreach (var (id, offset) in new[] { ("a", 1), ("b", 2), ("c", 3) })
        {
            _nodes[id] = new RawNode(Options(id, seedBase * 10 + offset, preVote));
        }

        for (var i = 0; i < 10; i++)
        {
            TickAll();
        }

        Process();
        _inFlight.Clear();
    }

    private static bool Between(Message m, string x, string y) => (m.From == x && m.To == y) || (m.From == y && m.To == x);

    // A (pre-)candidate that takes its term's leader's heartbeat follows it, and its answer makes the same promise a
    // follower's does (review of session 30: it was counted from the leader the node had timed out on, so it had run
    // out, and the node voted at once for another candidate inside the lease its answer granted). Seeds whose timers
    // fall outside the lease end early, with the old leader still leading.
    //
    // Pre-vote on. b is cut off from a's messages from a's election on and becomes a pre-candidate; c follows a for one
    // election timeout and is then cut off from a. One heartbeat of a reaches the pre-candidate b, which answers it
    // (a's check-quorum and its lease both count that answer). Then c's election timer runs out: b grants its pre-vote
    // and its vote, c commits a write with b, and a, still within its lease, serves a read at an older index.
    // The seeds are those whose election timers put c's campaign inside a's lease (b voted for it before the fix).
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(5)]
    public void PreCandidateThatAnswersALeadersHeartbeat_RefusesVotesWithinTheLeaseItGranted(int seedBase)
    {
        StartPastTheStartupLease(seedBase, preVote: true);

        // a is elected (b and c vote for it); a's appends and heartbeats never reach b from here on.
        _nodes["a"].Campaign();
        Deliver(m => !(m.From == "a" && m.To == "b" && LeaderMessage(m)));
        Assert.Equal(StateRole.Leader, _nodes["a"].Status.Role);
        Assert.Equal(1, _nodes["a"].Status.CommitIndex);

        // Ticks 1..10: a and c talk (c's answers keep a's first check-quorum window); b hears nobody, nobody hears b.
        for (var tick = 1; tick <= 10; tick++)
        {
            TickAll();
            Deliver(m => Between(m, "a", "c"));
        }

        // Ticks 11..18: everyone is cut off from everyone.
        for (var tick = 11; tick <= 18; tick++)
        {
            TickAll();
            Deliver(_ => false);
        }

        // Tick 19: b's election timer ran out (its timeout is below 20 ticks): it is a pre-candidate of term 1. a's
        // heartbeat of this tick reaches it, and its answer reaches a: one answer in a's second check-quorum window,
        // and a's lease round, confirmed by a and b.
        TickAll();
        Assert.Equal(StateRole.PreCandidate, _nodes["b"].Status.Role);
        Deliver(m => (m.From == "a" && m.To == "b" && m.Type == MessageType.Heartbeat) || (m.From == "b" && m.To == "a" && m.Type == MessageType.HeartbeatResponse));
        Assert.Equal(StateRole.Follower, _nodes["b"].Status.Role);
        Assert.Equal("a", _nodes["b"].Status.LeaderId);
        _nodes["a"].ReadIndex(new byte[] { 1 });
        Process();
        Assert.Equal(1, Assert.Single(_readsServed, r => r.Context.Span[0] == 1).Index);

        // From now on a is cut off from everyone; b and c talk. Within a's lease (ticks 20..27), c's election timer
        // (started at tick 10) may run out.
        AssertNoLeaderBesideALeaseWhileBAndCRunOn(ticks: 8, "b answered a's heartbeat as a pre-candidate");
    }

    // Pre-vote off. a and b campaign in term 1 at once; c votes for a. b, a candidate of term 1, hears nothing from a
    // until tick 11, when one heartbeat of a reaches it: it becomes a's follower in StepCandidate and answers. c follows
    // a only until tick 1. When c's election timer runs out, within a's lease, b votes for it.
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    public void CandidateThatAnswersALeadersHeartbeat_RefusesVotesWithinTheLeaseItGranted(int seedBase)
    {
        StartPastTheStartupLease(seedBase, preVote: false);

        _nodes["a"].Campaign();
        _nodes["b"].Campaign();
        Deliver(m => !(m.From == "a" && m.To == "b" && LeaderMessage(m)) && !(m.From == "b" && m.To == "c"));
        Assert.Equal(StateRole.Leader, _nodes["a"].Status.Role);
        Assert.Equal(1, _nodes["a"].Status.CommitIndex);

        // Tick 1: a and c talk; then everyone is cut off until tick 10.
        TickAll();
        Deliver(m => Between(m, "a", "c"));
        for (var tick = 2; tick <= 10; tick++)
        {
            TickAll();
            Deliver(_ => false);
        }

        // Tick 11: b, still a candidate of term 1 (if its timeout is above 11), takes a's heartbeat and answers it.
        TickAll();
        if (_nodes["b"].Status.Role != StateRole.Candidate || _nodes["b"].Status.Term != 1 || _nodes["a"].Status.Role != StateRole.Leader)
        {
            return;
        }

        Deliver(m => (m.From == "a" && m.To == "b" && m.Type == MessageType.Heartbeat) || (m.From == "b" && m.To == "a" && m.Type == MessageType.HeartbeatResponse));
        Assert.Equal(StateRole.Follower, _nodes["b"].Status.Role);
        Assert.Equal("a", _nodes["b"].Status.LeaderId);
        _nodes["a"].ReadIndex(new byte[] { 1 });
        Process();
        Assert.Equal(1, Assert.Single(_readsServed, r => r.Context.Span[0] == 1).Index);

        AssertNoLeaderBesideALeaseWhileBAndCRunOn(ticks: 8, "b answered a's heartbeat as a candidate");
    }

    // a is cut off; b and c run on for `ticks` (within a's lease, confirmed by b's answer): b must refuse c, or a read
    // that a serves from its lease would miss what c commits with b.
    private void AssertNoLeaderBesideALeaseWhileBAndCRunOn(int ticks, string how)
    {
        bool NotA(Message m) => m.From != "a" && m.To != "a";
        for (var tick = 0; tick < ticks && _nodes["c"].Status.Role != StateRole.Leader; tick++)
        {
            TickAll();
            Deliver(NotA);
        }

        Assert.Equal(StateRole.Leader, _nodes["a"].Status.Role);
        if (_nodes["c"].Status.Role != StateRole.Leader)
        {
            return;
        }

        // What went wrong before the fix: c leads term 2 with b's vote and commits a write with b within the tick.
        _nodes["c"].Propose(new byte[] { 42 });
        Deliver(NotA);
        var committedByC = _nodes["c"].Status.CommitIndex;
        _nodes["a"].ReadIndex(new byte[] { 2 });
        Process();
        var stale = _readsServed.Where(r => r.Context.Span[0] == 2).ToList();
        Assert.True(
            stale.Count == 0 || stale[0].Index >= committedByC,
            $"a served a lease read at index {(stale.Count > 0 ? stale[0].Index : -1)} after c (term 2, with b's vote: {how}, then voted) committed index {committedByC}");
    }

    // A node may become leader on a TimeoutNow alone, not only on a vote answer or its own tick: the leader removed
    // itself (the change takes effect when appended, so the target is the only voter of its configuration) and hands
    // over; the target wins inside Step(TimeoutNow). So RaftNode notes leadership after every message it steps
    // (RaftNodeLeaseTests).
    [Fact]
    public void LoneVoterBecomesLeaderOnATimeoutNow()
    {
        static RaftOptions Two(string id, int seed) => Options(id, seed, preVote: true) with { Voters = ["a", "b"] };
        _nodes["a"] = new RawNode(Two("a", 1));
        _nodes["b"] = new RawNode(Two("b", 2));
        for (var i = 0; i < 10; i++)
        {
            TickAll();
        }

        Process();
        _inFlight.Clear();
        _nodes["a"].Campaign();
        Deliver(_ => true);
        Assert.Equal(StateRole.Leader, _nodes["a"].Status.Role);

        Assert.Equal(ProposeStatus.Accepted, _nodes["a"].ProposeConfigurationChange(new Raft.Core.Membership.ConfigurationChange(Raft.Core.Membership.ConfigurationChangeKind.Remove, "a")).Status);
        Assert.Equal(ProposeStatus.Accepted, _nodes["a"].TransferLeadership("b").Status);
        MessageType? becameLeaderOn = null;
        Process();
        while (_inFlight.Count > 0)
        {
            var batch = _inFlight.ToList();
            _inFlight.Clear();
            foreach (var m in batch)
            {
                var was = _nodes[m.To].Status.Role;
                _nodes[m.To].Step(m);
                if (m.To == "b" && was != StateRole.Leader && _nodes["b"].Status.Role == StateRole.Leader)
                {
                    becameLeaderOn = m.Type;
                }
            }

            Process();
        }

        Assert.Equal(StateRole.Leader, _nodes["b"].Status.Role);
        Assert.Equal(MessageType.TimeoutNow, becameLeaderOn);
    }
}
