namespace Raft.Core.Engine;

/// <summary>Volatile state that callers may want to observe; never persisted.</summary>
/// <param name="Role">This node's role.</param>
/// <param name="LeaderId">The leader this node knows for the current term, or null.</param>
/// <param name="Term">The current term.</param>
public readonly record struct SoftState(StateRole Role, string? LeaderId, long Term);
