namespace Raft.Core.Engine;

/// <summary>What a node knows about itself at one moment.</summary>
/// <param name="Id">The node's id.</param>
/// <param name="Role">Its role.</param>
/// <param name="Term">Its current term.</param>
/// <param name="VotedFor">Its vote in the current term.</param>
/// <param name="LeaderId">The leader it knows, or null.</param>
/// <param name="CommitIndex">The highest index it knows committed.</param>
/// <param name="AppliedIndex">The highest index handed to the state machine.</param>
/// <param name="LastIndex">The last index in its log (durable or not).</param>
/// <param name="StableIndex">The last index known durable in its own log store.</param>
public sealed record RaftStatus(
    string Id,
    StateRole Role,
    long Term,
    string? VotedFor,
    string? LeaderId,
    long CommitIndex,
    long AppliedIndex,
    long LastIndex,
    long StableIndex)
{
    /// <summary>The first index still in the log (entries before it are covered by a snapshot).</summary>
    public long FirstIndex { get; init; } = 1;

    /// <summary>The configuration in force on this node.</summary>
    public Membership.ClusterConfiguration? Configuration { get; init; }

    /// <summary>On a leader: the node leadership is being transferred to, if any.</summary>
    public string? LeadTransferee { get; init; }
}
