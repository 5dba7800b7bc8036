namespace Raft.Testing.Simulation.Invariants;

/// <summary>
/// Linearizable reads (thesis §6.4): a read is served from a state that includes every entry committed before the read
/// was asked for, that is, at a read index at or past the commit index known anywhere when it started, and only once
/// the serving node has applied through that read index.
/// </summary>
/// <remarks>
/// Stronger than the history check: it catches a stale read even when no client happened to observe the write it
/// missed. It holds for ReadIndex and for lease reads alike, as long as the lease's clock assumption holds.
/// </remarks>
public static class ReadIndexInvariant
{
    /// <summary>The name reported on a violation.</summary>
    public const string Name = "Reads see every earlier commit (§6.4)";

    /// <summary>Checks one served read.</summary>
    /// <param name="nodeId">The node serving it.</param>
    /// <param name="readIndex">The read index the engine gave for it.</param>
    /// <param name="committedAtStart">The highest index known committed anywhere when the read was asked for.</param>
    /// <param name="applied">What the serving node's state machine has applied.</param>
    /// <exception cref="InvariantViolationException">The read index is behind an earlier commit, or the node is behind the read index.</exception>
    public static void ObserveServe(string nodeId, long readIndex, long committedAtStart, long applied)
    {
        if (readIndex < committedAtStart)
        {
            throw new InvariantViolationException(
                Name, $"{nodeId} served a read at read index {readIndex}, but index {committedAtStart} was already committed when the read began.");
        }

        if (applied < readIndex)
        {
            throw new InvariantViolationException(Name, $"{nodeId} served a read at read index {readIndex} having applied only through {applied}.");
        }
    }
}
