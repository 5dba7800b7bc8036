using System.Diagnostics;
using Orleans.Raft.StateMachine;

namespace Orleans.Raft.Storage;

// Journals (append-only record logs keyed like grain states) for event-sourced grains and Orleans journaling: the same
// client session, forwarding, retries and read index as grain states. ETags are log indexes (longs, 0 = never
// written); appends, replaces and deletes are conditional on them, snapshots are not (they never change the ETag) but
// are conditional on the journal's incarnation.
public sealed partial class RaftGrainStorage
{
    /// <summary>Reads a journal linearizably: it reflects every command acknowledged before the call.</summary>
    /// <param name="key">The journal's key.</param>
    /// <param name="cancellationToken">Abandons the read.</param>
    /// <returns>The journal (<see cref="JournalSnapshotView.Missing"/>-like with Exists false when never written).</returns>
    /// <exception cref="RaftQuorumUnavailableException">No leader confirmed a read index within the operation timeout.</exception>
    /// <exception cref="RaftGrainStorageException">This silo's Raft node is not running.</exception>
    internal async Task<JournalSnapshotView> ReadJournalAsync(GrainStateKey key, CancellationToken cancellationToken)
    {
        await ReadIndexForJournalAsync(key, cancellationToken).ConfigureAwait(false);
        if (!StateMachine.TryGetJournal(key, out var journal))
        {
            return JournalSnapshotView.Missing;
        }

        return new JournalSnapshotView(
            journal.Exists, journal.ETag, journal.Incarnation, journal.Count, journal.FirstRetained, journal.Retained, journal.Snapshot,
            journal.SnapshotCount, journal.Properties);
    }

    /// <summary>Lists the journals whose key has grain type <paramref name="grainType"/>, linearizably (as of a read index).</summary>
    /// <param name="grainType">The grain type of the keys.</param>
    /// <param name="cancellationToken">Abandons the read.</param>
    /// <returns>The journals, tombstones included, in no particular order.</returns>
    /// <exception cref="RaftQuorumUnavailableException">No leader confirmed a read index within the operation timeout.</exception>
    internal async Task<IReadOnlyList<(GrainStateKey Key, JournalSnapshotView Journal)>> ListJournalsAsync(string grainType, CancellationToken cancellationToken)
    {
        await ReadIndexForJournalAsync(new GrainStateKey(grainType, "*", "*"), cancellationToken).ConfigureAwait(false);
        return StateMachine.JournalsOfType(grainType)
            .Select(p => (p.Key, new JournalSnapshotView(
                p.Value.Exists, p.Value.ETag, p.Value.Incarnation, p.Value.Count, p.Value.FirstRetained, p.Value.Retained, p.Value.Snapshot,
                p.Value.SnapshotCount, p.Value.Properties)))
            .ToList();
    }

    /// <summary>Reads the records [<paramref name="from"/>, <paramref name="to"/>) of a journal linearizably.</summary>
    /// <param name="key">The journal's key.</param>
    /// <param name="from">The logical index of the first record.</param>
    /// <param name="to">One past the logical index of the last record.</param>
    /// <param name="cancellationToken">Abandons the read.</param>
    /// <returns>The records, in order.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="from"/> is negative or above <paramref name="to"/>.</exception>
    /// <exception cref="RaftJournalRangeException">Part of the range was trimmed, or lies beyond the journal's count.</exception>
    /// <exception cref="RaftQuorumUnavailableException">No leader confirmed a read index within the operation timeout.</exception>
    internal async Task<IReadOnlyList<ReadOnlyMemory<byte>>> ReadJournalRangeAsync(
        GrainStateKey key, long from, long to, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(from);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(from, to);
        await ReadIndexForJournalAsync(key, cancellationToken).ConfigureAwait(false);
        if (!StateMachine.TryGetJournal(key, out var journal) || !journal.Exists)
        {
            return to == 0
                ? []
                : throw new RaftJournalRangeException(
                    $"Raft grain storage '{_name}': journal {key} holds no records; records [{from}, {to}) were requested.", 0, 0);
        }

        if (from < journal.FirstRetained)
        {
            throw new RaftJournalRangeException(
                $"Raft grain storage '{_name}': records [{from}, {journal.FirstRetained}) of journal {key} were trimmed after a snapshot (it holds [{journal.FirstRetained}, {journal.Count})); read from the snapshot instead.",
                journal.FirstRetained, journal.Count);
        }

        if (to > journal.Count)
        {
            throw new RaftJournalRangeException(
                $"Raft grain storage '{_name}': journal {key} has {journal.Count} records; records [{from}, {to}) were requested.",
                journal.FirstRetained, journal.Count);
        }

        return journal.Range(from, to);
    }

    /// <summary>Appends records to a journal if its ETag is <paramref name="expectedETag"/>.</summary>
    /// <param name="key">The journal's key.</param>
    /// <param name="expectedETag">The ETag the caller read or last wrote; 0 when it read no journal.</param>
    /// <param name="records">The records, in order (none is allowed: then only the properties and the ETag change).</param>
    /// <param name="setProperties">Properties to set (others are kept), or null.</param>
    /// <param name="cancellationToken">Abandons the wait; the append may still be applied.</param>
    /// <returns>The journal's new ETag.</returns>
    /// <exception cref="RaftJournalConflictException">The stored ETag is not the expected one; nothing was appended.</exception>
    /// <exception cref="RaftStateTooLargeException">The command exceeds <c>MaxStateSize</c>; nothing was proposed.</exception>
    /// <exception cref="RaftQuorumUnavailableException">No leader with a quorum within the operation timeout; not applied.</exception>
    /// <exception cref="RaftWriteOutcomeUnknownException">The append may or may not have been applied.</exception>
    internal Task<long> AppendJournalAsync(
        GrainStateKey key, long expectedETag, IReadOnlyList<ReadOnlyMemory<byte>> records,
        IReadOnlyDictionary<string, string>? setProperties, CancellationToken cancellationToken) =>
        ExecuteJournalWriteAsync(CommandKind.JournalAppend, "journal_append", key, expectedETag, records, setProperties, cancellationToken);

    /// <summary>
    /// Replaces all records of a journal (a compaction: the journal then holds only <paramref name="records"/>, its count
    /// is their number and its snapshot is dropped) if its ETag is <paramref name="expectedETag"/>.
    /// </summary>
    /// <param name="key">The journal's key.</param>
    /// <param name="expectedETag">The ETag the caller read or last wrote; 0 when it read no journal.</param>
    /// <param name="records">The new records.</param>
    /// <param name="setProperties">Properties to set (others are kept), or null.</param>
    /// <param name="cancellationToken">Abandons the wait; the replace may still be applied.</param>
    /// <returns>The journal's new ETag.</returns>
    /// <exception cref="RaftJournalConflictException">The stored ETag is not the expected one; nothing was replaced.</exception>
    /// <exception cref="RaftStateTooLargeException">The command exceeds <c>MaxStateSize</c>; nothing was proposed.</exception>
    /// <exception cref="RaftQuorumUnavailableException">No leader with a quorum within the operation timeout; not applied.</exception>
    /// <exception cref="RaftWriteOutcomeUnknownException">The replace may or may not have been applied.</exception>
    internal Task<long> ReplaceJournalAsync(
        GrainStateKey key, long expectedETag, IReadOnlyList<ReadOnlyMemory<byte>> records,
        IReadOnlyDictionary<string, string>? setProperties, CancellationToken cancellationToken) =>
        ExecuteJournalWriteAsync(CommandKind.JournalReplace, "journal_replace", key, expectedETag, records, setProperties, cancellationToken);

    /// <summary>
    /// Deletes a journal if its ETag is <paramref name="expectedETag"/>, keeping a tombstone with a new ETag so that an
    /// activation holding an older ETag (even 0) cannot write it again.
    /// </summary>
    /// <param name="key">The journal's key.</param>
    /// <param name="expectedETag">The ETag the caller read or last wrote; 0 when it read no journal.</param>
    /// <param name="cancellationToken">Abandons the wait; the delete may still be applied.</param>
    /// <returns>The tombstone's ETag (0 when no journal was ever written: nothing to delete).</returns>
    /// <exception cref="RaftJournalConflictException">The stored ETag is not the expected one; nothing was deleted.</exception>
    /// <exception cref="RaftQuorumUnavailableException">No leader with a quorum within the operation timeout; not applied.</exception>
    /// <exception cref="RaftWriteOutcomeUnknownException">The delete may or may not have been applied.</exception>
    internal Task<long> DeleteJournalAsync(GrainStateKey key, long expectedETag, CancellationToken cancellationToken) =>
        ExecuteJournalWriteAsync(CommandKind.JournalDelete, "journal_delete", key, expectedETag, [], null, cancellationToken);

    /// <summary>
    /// Stores a snapshot of a grain's view of a journal at record count <paramref name="atCount"/>; with
    /// <paramref name="trimHistory"/> the records below it are dropped. Not conditional on the ETag and does not change
    /// it, so it never conflicts with appenders; conditional on <paramref name="incarnation"/>, so a snapshot taken
    /// before a delete or a replace never touches the journal that followed.
    /// </summary>
    /// <param name="key">The journal's key.</param>
    /// <param name="incarnation">The incarnation of the journal the snapshot was taken from (<see cref="JournalSnapshotView.Incarnation"/>).</param>
    /// <param name="atCount">The record count the snapshot reflects; at most the journal's count.</param>
    /// <param name="snapshot">The snapshot's bytes.</param>
    /// <param name="trimHistory">Whether to drop the records below <paramref name="atCount"/>.</param>
    /// <param name="cancellationToken">Abandons the wait; the snapshot may still be stored.</param>
    /// <returns>
    /// Saved; NotNewer when the journal already held a snapshot at the same or a later count; IncarnationChanged when
    /// the journal no longer is <paramref name="incarnation"/> (deleted, replaced or never written): nothing stored or trimmed.
    /// </returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="atCount"/> is negative or <paramref name="incarnation"/> is not positive.</exception>
    /// <exception cref="RaftJournalRangeException">The journal does not hold record count <paramref name="atCount"/>.</exception>
    /// <exception cref="RaftStateTooLargeException">The snapshot exceeds <c>MaxStateSize</c>; nothing was proposed.</exception>
    /// <exception cref="RaftQuorumUnavailableException">No leader with a quorum within the operation timeout; not applied.</exception>
    /// <exception cref="RaftWriteOutcomeUnknownException">The snapshot may or may not have been stored.</exception>
    internal async Task<JournalSnapshotOutcome> SaveJournalSnapshotAsync(
        GrainStateKey key, long incarnation, long atCount, ReadOnlyMemory<byte> snapshot, bool trimHistory, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(incarnation);
        ArgumentOutOfRangeException.ThrowIfNegative(atCount);
        const string operation = "journal_snapshot";
        var command = new GrainStateCommand
        {
            Kind = CommandKind.JournalSnapshot, Key = key, ExpectedETag = incarnation, AtCount = atCount, TrimHistory = trimHistory, Data = snapshot,
        };
        CheckSize(operation, key, command);
        var answer = await ExecuteAsync(operation, key, command, cancellationToken).ConfigureAwait(false);
        switch (answer.Status)
        {
            case CommandStatus.Applied:
                return JournalSnapshotOutcome.Saved;
            case CommandStatus.SnapshotNotNewer:
                Count(operation, "not_newer");
                return JournalSnapshotOutcome.NotNewer;
            case CommandStatus.IncarnationChanged:
                Count(operation, "incarnation_changed");
                return JournalSnapshotOutcome.IncarnationChanged;
            default:
                Count(operation, "out_of_range");
                throw new RaftJournalRangeException(
                    $"Raft grain storage '{_name}': cannot store a snapshot of journal {key} at record count {atCount}: the journal has {answer.ETag} records, or has trimmed records beyond {atCount}.",
                    0, answer.ETag);
        }
    }

    private async Task<long> ExecuteJournalWriteAsync(
        CommandKind kind, string operation, GrainStateKey key, long expectedETag, IReadOnlyList<ReadOnlyMemory<byte>> records,
        IReadOnlyDictionary<string, string>? setProperties, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedETag);
        var properties = setProperties ?? new Dictionary<string, string>(StringComparer.Ordinal);
        var command = new GrainStateCommand { Kind = kind, Key = key, ExpectedETag = expectedETag, Records = records, Properties = properties };
        CheckSize(operation, key, command);
        var answer = await ExecuteAsync(operation, key, command, cancellationToken).ConfigureAwait(false);
        if (answer.Status != CommandStatus.Applied)
        {
            Debug.Assert(answer.Status == CommandStatus.ETagMismatch, "Only a snapshot gets other refusals.");
            Count(operation, "conflict");
            var stored = answer.ETag.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var expected = expectedETag.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Log.ETagConflict(_logger, _name, operation, key.ToString(), expected, stored);
            throw new RaftJournalConflictException(
                $"Raft grain storage '{_name}': ETag mismatch on the {operation} of journal {key}: stored ETag {stored}, expected {expected}. Another activation changed the journal; read it again.",
                answer.ETag, expectedETag);
        }

        return answer.ETag;
    }

    private void CheckSize(string operation, GrainStateKey key, GrainStateCommand command)
    {
        var size = command.PayloadSize();
        if (size > _options.MaxStateSize)
        {
            Count(operation, "too_large");
            throw new RaftStateTooLargeException(
                $"Raft grain storage '{_name}': the {operation} of journal {key} carries {size} bytes, more than MaxStateSize ({_options.MaxStateSize}); it was not proposed. Write fewer or smaller records per call (or compact), or raise RaftGrainStorageOptions.MaxStateSize.");
        }
    }

    private async Task ReadIndexForJournalAsync(GrainStateKey key, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            await WaitForReadIndexAsync(key, cancellationToken, "journal_read").ConfigureAwait(false);
        }
        catch (RaftGrainStorageException ex)
        {
            Count("journal_read", ex is RaftQuorumUnavailableException ? "unavailable" : "failed");
            Log.OperationFailed(_logger, ex, _name, "journal_read", key.ToString(), NodeId, ex.Message);
            throw;
        }

        Count("journal_read", "ok");
        RaftStorageMetrics.ReadLatency.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, _providerTag);
    }
}
