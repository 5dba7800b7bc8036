using Raft.Core.Engine;
using Raft.Core.Membership;
using Raft.Core.Messages;
using Raft.Core.Runtime;

namespace Raft.Core.Tests.Runtime;

// Which ready lets a node that just became leader heartbeat while its writes run (WhilePersisting.NewLeaderAllowed):
// only one whose term was durable before it, so that nothing of a term that a crash could still undo leaves the node.
public sealed class WhilePersistingTests
{
    private static readonly Entry NoOp = new(1, 2, EntryType.Normal, ReadOnlyMemory<byte>.Empty);

    [Fact]
    public void NewLeaderAllowed_ForTheReadyThatMadeANodeLeader_InATermSavedWhenItCampaigned()
    {
        var ready = Ready(new SoftState(StateRole.Leader, "n1", 2), hardState: null);

        Assert.True(WhilePersisting.NewLeaderAllowed(ready, durableTerm: 2));
    }

    // A lone voter elects itself in the ready that saves its term: its learners must hear nothing of that term first.
    [Fact]
    public void NewLeaderAllowed_NotForALoneVoter_WhoseTermIsSavedInTheSameReady()
    {
        var ready = Ready(new SoftState(StateRole.Leader, "n1", 2), new HardState(2, "n1", 0));

        Assert.False(WhilePersisting.NewLeaderAllowed(ready, durableTerm: 1));
    }

    [Fact]
    public void NewLeaderAllowed_NotForAReadyWithoutLeadership_OrWithASnapshot()
    {
        Assert.False(WhilePersisting.NewLeaderAllowed(Ready(softState: null, hardState: null), durableTerm: 2));
        Assert.False(WhilePersisting.NewLeaderAllowed(Ready(new SoftState(StateRole.Follower, "n2", 2), hardState: null), durableTerm: 2));
        var snapshot = new SnapshotMetadata(5, 2, new ClusterConfiguration(["n1", "n2", "n3"], []));
        Assert.False(WhilePersisting.NewLeaderAllowed(Ready(new SoftState(StateRole.Leader, "n1", 2), hardState: null, snapshot), durableTerm: 2));
    }

    private static Ready Ready(SoftState? softState, HardState? hardState, SnapshotMetadata? snapshot = null) =>
        new(softState, hardState, [NoOp], [], [], [], snapshot);
}
