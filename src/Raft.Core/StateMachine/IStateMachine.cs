using Raft.Core.Messages;

namespace Raft.Core.StateMachine;

/// <summary>The application state that the Raft log replicates (the FSM).</summary>
/// <remarks>
/// Contract: deterministic: applying the same entries in the same order from the same starting state gives the
/// same state and results on every node. Entries arrive exactly once each, in log order, from one caller at a time,
/// off the consensus loop. Only <see cref="EntryType.Normal"/> entries are given. An exception stops the node:
/// a replica that cannot apply a committed entry must not go on with a state that differs from the others.
/// </remarks>
public interface IStateMachine
{
    /// <summary>Applies one committed command and returns its result to the proposer.</summary>
    /// <param name="entry">The committed entry.</param>
    /// <param name="cancellationToken">Signals shutdown.</param>
    /// <returns>The result handed to whoever proposed the entry (ignored on other nodes).</returns>
    ValueTask<ReadOnlyMemory<byte>> ApplyAsync(Entry entry, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes the whole state, as of the last applied entry, to <paramref name="destination"/> (§7). Called between
    /// applies, never concurrently with <see cref="ApplyAsync"/>; a state machine that can capture its state cheaply
    /// (copy-on-write) keeps the pause short.
    /// </summary>
    /// <param name="destination">Where the snapshot goes; its total size need not be known up front.</param>
    /// <param name="cancellationToken">Signals shutdown.</param>
    /// <returns>A task that completes when the snapshot is written.</returns>
    ValueTask WriteSnapshotAsync(Stream destination, CancellationToken cancellationToken = default);

    /// <summary>Replaces the whole state with the one in <paramref name="source"/>, written by <see cref="WriteSnapshotAsync"/>.</summary>
    /// <param name="source">The snapshot data.</param>
    /// <param name="cancellationToken">Signals shutdown.</param>
    /// <returns>A task that completes when the state is restored.</returns>
    /// <exception cref="InvalidDataException">The data is not a snapshot of this state machine.</exception>
    ValueTask RestoreSnapshotAsync(Stream source, CancellationToken cancellationToken = default);
}
