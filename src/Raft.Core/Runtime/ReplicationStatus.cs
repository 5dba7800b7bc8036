namespace Raft.Core.Runtime;

/// <summary>A leader's view of how far each member's log has been replicated, for deciding when a learner has caught up.</summary>
/// <param name="Term">The term this node leads in.</param>
/// <param name="LastIndex">The last index in the leader's log.</param>
/// <param name="CommitIndex">The leader's commit index.</param>
/// <param name="Followers">Every other member of the configuration in force, voters and learners, in ordinal order of id.</param>
public sealed record ReplicationStatus(long Term, long LastIndex, long CommitIndex, IReadOnlyList<FollowerReplication> Followers)
{
    /// <summary>The entry for <paramref name="nodeId"/>, or null when it is not a member (or is this leader).</summary>
    /// <param name="nodeId">A member's id.</param>
    /// <returns>Its replication state, or null.</returns>
    public FollowerReplication? this[string nodeId] => Followers.FirstOrDefault(f => string.Equals(f.NodeId, nodeId, StringComparison.Ordinal));
}

/// <summary>How far one member's log matches the leader's.</summary>
/// <param name="NodeId">The member.</param>
/// <param name="IsLearner">True for a learner (receives the log, does not vote).</param>
/// <param name="MatchIndex">The highest index the member acknowledged as durably matching the leader's log in this term;
/// 0 until it first answers.</param>
/// <param name="SinceLastContact">Time since the member last answered this leader, or null when it has not answered in this term.</param>
public sealed record FollowerReplication(string NodeId, bool IsLearner, long MatchIndex, TimeSpan? SinceLastContact);
