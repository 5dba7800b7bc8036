namespace Raft.Testing.Simulation.Invariants;

/// <summary>What a node knew when it decided a durable write of entries (when it took the ready that holds them).</summary>
/// <param name="CommitIndex">The node's commit index then.</param>
/// <param name="Term">A term no later than the one in which the node took the entries: the term of the leader whose word it took, or an earlier one.</param>
public readonly record struct WriteDecision(long CommitIndex, long Term);
