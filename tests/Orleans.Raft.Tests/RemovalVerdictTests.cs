using Orleans.Raft.Networking;
using Orleans.Raft.Storage;
using Raft.Core.Membership;

namespace Orleans.Raft.Tests;

// When a silo whose node hears from no leader asks the others, their answers say it was removed only when a leader of
// its term or later has it out of its own configuration, and that it is a member when that leader holds it; followers'
// answers never decide (one may lag behind), and without a leader's answer nothing is known.
public sealed class RemovalVerdictTests
{
    private static readonly ClusterConfiguration WithB = new(["a", "b", "c"]);
    private static readonly ClusterConfiguration WithoutB = new(["a", "c", "d"]);

    [Fact]
    public void TheLeaderLeavingTheNodeOut_ShowsTheRemoval()
    {
        var leader = new RaftPeerView("a", 7, "a", WithoutB);
        Assert.Equal((RemovalVerdict.Outcome.Removed, leader), RemovalVerdict.Decide("b", 5, [leader, new RaftPeerView("c", 7, "a", WithB)]));
    }

    [Fact]
    public void TheLeaderHoldingTheNode_OutweighsAFollowerThatDoesNot()
    {
        Assert.Equal(RemovalVerdict.Outcome.Member, RemovalVerdict.Decide("b", 5, [new RaftPeerView("a", 7, "a", WithB), new RaftPeerView("c", 7, "a", WithoutB)]).Outcome);
    }

    [Fact]
    public void OnlyTheLatestLeaderCounts()
    {
        var stale = new RaftPeerView("c", 6, "c", WithoutB);
        Assert.Equal(RemovalVerdict.Outcome.Member, RemovalVerdict.Decide("b", 5, [stale, new RaftPeerView("a", 7, "a", WithB)]).Outcome);
        Assert.Equal((RemovalVerdict.Outcome.Removed, stale), RemovalVerdict.Decide("b", 5, [stale]));
    }

    [Fact]
    public void FollowersAlone_DoNotDecide()
    {
        Assert.Equal(RemovalVerdict.Outcome.Unknown, RemovalVerdict.Decide("b", 5, [new RaftPeerView("c", 7, "a", WithoutB), new RaftPeerView("d", 8, "a", WithoutB)]).Outcome);
    }

    [Fact]
    public void AnswersWithoutALeader_OrFromAnEarlierTerm_DoNotCount()
    {
        Assert.Equal(RemovalVerdict.Outcome.Unknown, RemovalVerdict.Decide("b", 5, [new RaftPeerView("a", 7, null, WithoutB)]).Outcome);
        Assert.Equal(RemovalVerdict.Outcome.Unknown, RemovalVerdict.Decide("b", 5, [new RaftPeerView("a", 4, "a", WithoutB)]).Outcome);
        Assert.Equal(RemovalVerdict.Outcome.Unknown, RemovalVerdict.Decide("b", 5, []).Outcome);
    }

    [Fact]
    public void ALearnerIsAMember()
    {
        Assert.Equal(RemovalVerdict.Outcome.Member, RemovalVerdict.Decide("b", 5, [new RaftPeerView("a", 7, "a", new ClusterConfiguration(["a", "c"], ["b"]))]).Outcome);
    }
}
