using Raft.Core.Engine;
using Raft.Core.Messages;

namespace Raft.Core.Tests.Engine;

// A follower's lease promise (refuse votes for an election timeout after hearing from its leader) must survive a change
// of term that is not its leader's doing. It lived in LeaderId and the election timer, which any newer-term message
// that is neither a vote request nor a leader's resets: moved to a candidate's term by a stale vote answer, the
// follower took that candidate's vote request as one of its own term, skipped the lease, voted, and the old leader
// served a stale lease read (found by helper-46's review in session 30). Perfect clocks (LeaseClockDriftTicks 0, no
// tick on any node during the end of the scenario), no pre-vote. Three engines, driven message by message.
public sealed class LeaseAcrossTermsTests
{
    private readonly Dictionary<string, RawNode> _nodes = new();
    private readonly List<Message> _inFlight = [];
    private readonly List<ReadState> _readsServed = [];

    private static RaftOptions Options(string id, int seed) => new()
    {
        Id = id,
        Voters = ["a", "b", "c"],
        ElectionTick = 10,
        HeartbeatTick = 1,
        CheckQuorum = true,
        PreVote = false,
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
}
