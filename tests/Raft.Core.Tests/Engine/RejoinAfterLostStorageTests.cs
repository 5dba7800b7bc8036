using System.Text;
using Raft.Core.Engine;
using Raft.Core.Membership;
using Raft.Core.Messages;

namespace Raft.Core.Tests.Engine;

/// <summary>
/// A node that lost its storage starts again empty under its id, after the cluster removed it. It passes again through
/// the terms its earlier self lived in, so messages sent to that earlier self, arriving late or twice (the transport
/// may do both), would count for it: it must not campaign or take a TimeoutNow until a leader of the removal's term or
/// a later one told it a commit index past the removal (<see cref="RaftOptions.RejoinAfterCommitIndex"/>).
/// </summary>
public sealed class RejoinAfterLostStorageTests
{
    private readonly Dictionary<string, RawNode> _nodes = new(StringComparer.Ordinal);

    // Everything ever sent to x, to be delivered again to the node that replaces it.
    private readonly List<Message> _sentToX = [];

    private static RaftOptions Options(string id, long rejoinAfter = 0) =>
        new() { Id = id, Voters = ["a", "b", "x"], RejoinAfterCommitIndex = rejoinAfter };

    // x led term 1 and committed "old" at index 2 with a and b; its disk was lost; a leader of a later term removed it.
    // Returns the cluster's commit index once the removal committed.
    private long LoseXAndRemoveIt()
    {
        foreach (var id in new[] { "a", "b", "x" })
        {
            _nodes[id] = new RawNode(Options(id));
        }

        _nodes["x"].Campaign();
        Deliver();
        Assert.Equal(StateRole.Leader, _nodes["x"].Status.Role);
        _nodes["x"].Propose(Encoding.UTF8.GetBytes("old"));
        Deliver();
        Assert.Equal(2, _nodes["a"].Status.CommitIndex);

        // Without x, a and b stop hearing from a leader; one of them wins the next term.
        _nodes.Remove("x");
        var leader = ElectAmongTheOthers();
        Assert.Equal(ProposeStatus.Accepted, leader.ProposeConfigurationChange(new ConfigurationChange(ConfigurationChangeKind.Remove, "x")).Status);
        Deliver();
        Assert.False(leader.Status.Configuration!.Contains("x"));
        return leader.Status.CommitIndex;
    }

    [Fact]
    public void AnEmptyNodeRejoining_CountsNothingMeantForItsEarlierSelf_UntilItLearnedACommitPastItsRemoval()
    {
        var removedAt = LoseXAndRemoveIt();
        var x = new RawNode(Options("x", rejoinAfter: removedAt));

        // Its election timeout passes, it is asked to campaign, and a stale TimeoutNow arrives: it stays a follower.
        for (var i = 0; i < 100; i++)
        {
            x.Tick();
        }

        x.Campaign();
        foreach (var stale in _sentToX.Where(m => m.Type is MessageType.TimeoutNow or MessageType.PreVoteResponse or MessageType.VoteResponse))
        {
            x.Step(stale);
        }

        // Then the grants and acknowledgements of its earlier self's term 1 arrive: none makes it a leader.
        foreach (var stale in _sentToX)
        {
            x.Step(stale);
        }

        Assert.NotEqual(StateRole.Leader, x.Status.Role);
        Assert.NotEqual(StateRole.Candidate, x.Status.Role);
        Assert.Equal(ProposeStatus.NotLeader, x.Propose(Encoding.UTF8.GetBytes("new")).Status);
        while (x.HasReady())
        {
            var ready = x.GetReady();
            Assert.DoesNotContain(ready.Messages.Concat(ready.PersistedMessages), m => m.Type is MessageType.Vote or MessageType.PreVote);
            x.Advance(ready);
        }
    }

    [Fact]
    public void AnEmptyNodeRejoining_CampaignsAgain_OnceALeaderToldItACommitPastItsRemoval()
    {
        var removedAt = LoseXAndRemoveIt();
        var x = new RawNode(Options("x", rejoinAfter: removedAt));
        _nodes["x"] = x;
        x.Campaign();
        Assert.Equal(StateRole.Follower, x.Status.Role);

        // It is added back as a learner in a later term than the removal's (a new election), then promoted.
        var term = _nodes.Values.Max(n => n.Status.Term);
        foreach (var node in _nodes.Values.Where(n => n.Status.Role == StateRole.Leader).ToList())
        {
            node.TransferLeadership(_nodes.Keys.First(id => id != "x" && id != node.Status.Id));
        }

        Deliver();
        var leader = _nodes.Values.Single(n => n.Status.Role == StateRole.Leader);
        Assert.True(leader.Status.Term > term);
        Assert.Equal(ProposeStatus.Accepted, leader.ProposeConfigurationChange(new ConfigurationChange(ConfigurationChangeKind.AddLearner, "x")).Status);
        Deliver();
        Assert.Equal(ProposeStatus.Accepted, leader.ProposeConfigurationChange(new ConfigurationChange(ConfigurationChangeKind.PromoteLearner, "x")).Status);
        Deliver();
        Assert.True(x.Status.CommitIndex >= removedAt);

        x.Campaign();
        Assert.Equal(StateRole.PreCandidate, x.Status.Role);
    }

    // Ticks a and b until one of them leads (their election timeouts, after the lease of the last leader ran out).
    private RawNode ElectAmongTheOthers()
    {
        for (var i = 0; i < 200; i++)
        {
            if (_nodes.Values.SingleOrDefault(n => n.Status.Role == StateRole.Leader && n.Status.Id != "x") is { } leader)
            {
                return leader;
            }

            _nodes["a"].Tick();
            _nodes["b"].Tick();
            Deliver();
        }

        throw new InvalidOperationException("No leader among a and b.");
    }

    // Hands every message to its addressee until nothing is left, recording what was meant for x.
    private void Deliver()
    {
        for (var round = 0; round < 100; round++)
        {
            var outbox = new List<Message>();
            foreach (var node in _nodes.Values.ToList())
            {
                while (node.HasReady())
                {
                    var ready = node.GetReady();
                    outbox.AddRange(ready.Messages);
                    outbox.AddRange(ready.PersistedMessages);
                    node.Advance(ready);
                }
            }

            if (outbox.Count == 0)
            {
                return;
            }

            foreach (var m in outbox)
            {
                if (m.To == "x")
                {
                    _sentToX.Add(m);
                }

                if (_nodes.TryGetValue(m.To, out var to))
                {
                    to.Step(m);
                }
            }
        }
    }
}
