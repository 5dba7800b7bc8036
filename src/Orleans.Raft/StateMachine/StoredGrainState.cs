namespace Orleans.Raft.StateMachine;

/// <summary>One grain state as the replicated store holds it.</summary>
/// <param name="ETag">The log index of the entry that last wrote or cleared the state; the same on every replica.</param>
/// <param name="Data">The serialized state, or null for a cleared state kept as a tombstone (its ETag still counts).</param>
public sealed record StoredGrainState(long ETag, byte[]? Data)
{
    /// <summary>True when a state is stored (false for a tombstone left by a clear).</summary>
    public bool RecordExists => Data is not null;
}
