using Raft.Core.Engine;
using Raft.Core.Messages;
using Raft.Core.Storage;

namespace Raft.Core.Runtime;

// Start-up: the state machine from the newest snapshot, the log after it, and the hard state.
public sealed partial class RaftNode
{
    /// <summary>
    /// Reads what the stores hold and puts the state machine where the log continues: restores it from the newest
    /// snapshot (if any) and returns the engine's initial state with the log entries after that snapshot.
    /// </summary>
    /// <remarks>
    /// <list type="bullet">
    /// <item><description>No snapshot: the log must start at index 1 (a compacted log without the snapshot that covers it
    /// cannot be recovered; that happens when the snapshot store is less durable than the log store).</description></item>
    /// <item><description>A snapshot at index S: when the log ends before S, or holds an entry at S with another term
    /// (a crash between storing a snapshot received from the leader and resetting the log), the log is reset to start
    /// after S: those entries are not in the committed log. A log starting after S + 1 has a hole and is refused.</description></item>
    /// <item><description>A hard state whose term is older than the snapshot's (same crash) is raised to that term, with
    /// no vote, and saved; raising a term is always safe.</description></item>
    /// </list>
    /// A snapshot that cannot be opened or restored stops the start: a node never continues from a partial or corrupt one.
    /// </remarks>
    private async Task<InitialState> RecoverAsync(CancellationToken cancellationToken)
    {
        var hardState = await _hardStateStore.LoadAsync(cancellationToken).ConfigureAwait(false);
        var snapshot = await RestoreNewestSnapshotAsync(cancellationToken).ConfigureAwait(false);
        var entries = await RecoverLogAsync(snapshot, cancellationToken).ConfigureAwait(false);
        if (snapshot is not null && hardState.Term < snapshot.Term)
        {
            hardState = new HardState(snapshot.Term, null, hardState.Commit);
            await _hardStateStore.SaveAsync(hardState, cancellationToken).ConfigureAwait(false);
        }

        Log.NodeStarting(_logger, Id, hardState.Term, hardState.VotedFor, hardState.Commit, entries.Count);

        // The applier continues from the snapshot; it starts after this, so no lock is needed.
        _appliedIndex = snapshot?.Index ?? 0;
        _appliedTerm = snapshot?.Term ?? 0;
        _lastSnapshotIndex = _appliedIndex;
        _appliedConfiguration = snapshot?.Configuration ?? _appliedConfiguration;
        _compactedThrough = _logStore.FirstIndex - 1;
        return new InitialState(hardState, entries, snapshot?.Index ?? 0, snapshot);
    }

    private async Task<SnapshotMetadata?> RestoreNewestSnapshotAsync(CancellationToken cancellationToken)
    {
        SnapshotReader? reader;
        try
        {
            reader = await _snapshotStore.OpenLatestAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            throw new InvalidOperationException(
                $"Raft node '{Id}' cannot start: its newest snapshot could not be opened ({ex.GetType().Name}: {ex.Message}). " +
                "A node never starts from a partial or corrupt snapshot; repair or remove it (the node then needs its full log, or a snapshot from the leader after its log is cleared).",
                ex);
        }

        if (reader is null)
        {
            return null;
        }

        await using (reader.ConfigureAwait(false))
        {
            try
            {
                await _stateMachine.RestoreSnapshotAsync(reader.Stream, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                throw new InvalidOperationException(
                    $"Raft node '{Id}' cannot start: restoring the state machine from the snapshot at index {reader.Metadata.Index} failed ({ex.GetType().Name}: {ex.Message}).",
                    ex);
            }

            Log.SnapshotRecovered(_logger, Id, reader.Metadata.Index, reader.Metadata.Term, reader.Metadata.Configuration.ToString());
            return reader.Metadata;
        }
    }

    private async Task<IReadOnlyList<Entry>> RecoverLogAsync(SnapshotMetadata? snapshot, CancellationToken cancellationToken)
    {
        var first = _logStore.FirstIndex;
        var last = _logStore.LastIndex;
        if (snapshot is null)
        {
            if (first != 1)
            {
                throw new InvalidOperationException(
                    $"Raft node '{Id}' cannot start: the log store starts at index {first}, but the snapshot store holds no snapshot covering the entries before it. " +
                    "The snapshot store must be as durable as the log store (an in-memory snapshot store forgets its snapshots at restart).");
            }

            return last >= 1 ? await _logStore.ReadAsync(1, last, cancellationToken).ConfigureAwait(false) : [];
        }

        var index = snapshot.Index;
        if (last < index)
        {
            // The whole log lies before the snapshot (a follower that crashed right after storing one from the leader).
            if (last >= first)
            {
                Log.LogResetOnRecovery(_logger, Id, first, last, index, "the log ends before the snapshot");
            }

            await _logStore.ResetAsync(index, cancellationToken).ConfigureAwait(false);
            return [];
        }

        if (first > index + 1)
        {
            throw new InvalidOperationException(
                $"Raft node '{Id}' cannot start: the log store holds [{first}, {last}] but the newest snapshot ends at index {index}; entries {index + 1} to {first - 1} are missing.");
        }

        if (first <= index)
        {
            var atSnapshot = (await _logStore.ReadAsync(index, index, cancellationToken).ConfigureAwait(false))[0];
            if (atSnapshot.Term != snapshot.Term)
            {
                // Not the committed log at the snapshot's index, so nothing after it is committed either (§5.3).
                Log.LogResetOnRecovery(_logger, Id, first, last, index, $"the log's entry there has term {atSnapshot.Term}, the snapshot's {snapshot.Term}");
                await _logStore.ResetAsync(index, cancellationToken).ConfigureAwait(false);
                return [];
            }
        }

        return last > index ? await _logStore.ReadAsync(index + 1, last, cancellationToken).ConfigureAwait(false) : [];
    }

    // The engine's reader for durable entries it no longer keeps in memory (a follower further behind than
    // RaftOptions.RetainedLogEntries). The stores here answer from memory or the page cache without awaiting; a store
    // that does await holds the loop for that read.
    private IReadOnlyList<Entry> ReadStable(long fromIndex, long toIndexInclusive)
    {
        var read = _logStore.ReadAsync(fromIndex, toIndexInclusive);
        return read.IsCompletedSuccessfully ? read.Result : read.AsTask().GetAwaiter().GetResult();
    }
}
