using Raft.Core.Engine;

namespace Raft.Transport.Grpc.Client;

/// <summary>What one node reported about itself through the client service, or why it could not be asked.</summary>
/// <param name="Id">The node's id.</param>
/// <param name="Address">Where it was reached, when known.</param>
/// <param name="Reachable">False when the node could not be asked; then only <see cref="Error"/> is meaningful.</param>
/// <param name="Error">Why the node could not be asked, or null.</param>
/// <param name="Role">Its role, or null when unknown.</param>
/// <param name="Term">Its current term.</param>
/// <param name="LeaderId">The leader it knows, or null.</param>
/// <param name="CommitIndex">The highest log index it knows committed.</param>
/// <param name="AppliedIndex">The highest log index it applied to its state machine.</param>
/// <param name="LastIndex">The last index in its log.</param>
/// <param name="Voters">The voting members in its configuration.</param>
/// <param name="Learners">The learners in its configuration.</param>
public sealed record RaftNodeStatus(
    string Id,
    string? Address,
    bool Reachable,
    string? Error,
    StateRole? Role,
    long Term,
    string? LeaderId,
    long CommitIndex,
    long AppliedIndex,
    long LastIndex,
    IReadOnlyList<string> Voters,
    IReadOnlyList<string> Learners);
