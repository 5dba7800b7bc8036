using Raft.Core.Messages;

namespace Raft.Core.Engine;

/// <summary>What a restarting node recovered from its stores.</summary>
/// <param name="HardState">The last durable term, vote and commit index.</param>
/// <param name="Entries">The durable log, contiguous, from index 1.</param>
/// <param name="Applied">The index the state machine has already applied (0 for an in-memory state machine that starts empty).</param>
public sealed record InitialState(HardState HardState, IReadOnlyList<Entry> Entries, long Applied = 0)
{
    /// <summary>A node that has never run.</summary>
    public static InitialState Empty { get; } = new(HardState.Empty, []);
}
