namespace Raft.Testing.Simulation.Invariants;

/// <summary>What a node knew when it decided a durable write: its commit index and term when it took the ready.</summary>
/// <param name="CommitIndex">The node's commit index then.</param>
/// <param name="Term">The node's current term then.</param>
public readonly record struct WriteDecision(long CommitIndex, long Term);
