using Raft.Core.Messages;

namespace Raft.Core.Engine;

/// <summary>What a restarting node recovered from its stores.</summary>
/// <param name="HardState">The last durable term, vote and commit index.</param>
/// <param name="Entries">The durable log, contiguous, from index 1 (or from just after <paramref name="Snapshot"/>).</param>
/// <param name="Applied">The index the state machine already holds: the snapshot's index after restoring it, or 0 for
/// an in-memory state machine that starts empty.</param>
/// <param name="Snapshot">The newest complete snapshot, whose state the state machine was restored from, or null.</param>
public sealed record InitialState(HardState HardState, IReadOnlyList<Entry> Entries, long Applied = 0, SnapshotMetadata? Snapshot = null)
{
    /// <summary>A node that has never run.</summary>
    public static InitialState Empty { get; } = new(HardState.Empty, []);
}
