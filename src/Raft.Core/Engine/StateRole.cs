namespace Raft.Core.Engine;

/// <summary>The role a node plays in its current term.</summary>
public enum StateRole
{
    /// <summary>Follows a leader, or waits for one.</summary>
    Follower,

    /// <summary>Asks for pre-votes before starting a real election (thesis §9.6); its term is unchanged.</summary>
    PreCandidate,

    /// <summary>Runs an election in a new term (§5.2).</summary>
    Candidate,

    /// <summary>Accepts proposals and replicates the log (§5.3).</summary>
    Leader,
}
