namespace Orleans.Raft.Networking;

/// <summary>A change of the Raft group's members, as one silo asks the leader's silo to make it.</summary>
public enum RaftMembershipOperation : byte
{
    /// <summary>Make the node a voter: a learner first, promoted once caught up (<c>RaftGrainStorage.AddVoterAsync</c>).</summary>
    AddVoter = 1,

    /// <summary>Remove the node, voter or learner (<c>RaftGrainStorage.RemoveMemberAsync</c>).</summary>
    RemoveMember = 2,
}

/// <summary>A membership change forwarded from one silo to the leader's.</summary>
/// <param name="Operation">What to do.</param>
/// <param name="NodeId">The node it concerns.</param>
/// <param name="Address">For <see cref="RaftMembershipOperation.AddVoter"/>: the node's address, recorded in the group
/// before it is added so that every silo can reach it; null when the silos' options list it already.</param>
public sealed record RaftMembershipRequest(RaftMembershipOperation Operation, string NodeId, string? Address = null);
