using Orleans.Raft.Storage;

namespace Orleans.Raft.EventSourcing;

// Appending the pending events, snapshots, clearing the journal and reading old events.
internal sealed partial class RaftLogViewAdaptor<TView, TEntry>
{
    // One attempt to append the pending events as one batch, conditional on the ETag this view was built at. Returns
    // how many pending events are now confirmed; 0 makes the base class call again (after dropping conditional events
    // whose position moved). Never throws: failures are recorded in LastPrimaryIssue and retried.
    protected override async Task<int> WriteAsync()
    {
        var batch = GetCurrentBatchOfUpdates();
        var records = new ReadOnlyMemory<byte>[batch.Length];
        for (var i = 0; i < batch.Length; i++)
        {
            records[i] = batch[i].Record;
        }

        string? newEpoch = _version == 0 ? Guid.NewGuid().ToString("N") : null;
        var properties = newEpoch is null ? null : new Dictionary<string, string>(StringComparer.Ordinal) { [EpochProperty] = newEpoch };
        JournalWriteOutcome outcome;
        try
        {
            outcome = await _journal.AppendAsync(_key, _etag, records, properties, CancellationToken.None);
        }
        catch (RaftStateTooLargeException ex)
        {
            // Nothing was proposed, and retrying the same batch cannot succeed: say so loudly; the caller's
            // ConfirmEvents does not complete until the batch is written.
            EventSourcingLog.AppendFailed(_logger, ex, _provider, Services.GrainId, batch.Length, false, ex.Message);
            Services.ProtocolError(
                $"Raft log-consistency provider '{_provider}': {batch.Length} events of {Services.GrainId} do not fit one Raft command ({ex.Message}). Confirm fewer events at a time, or raise RaftGrainStorageOptions.MaxStateSize.",
                throwexception: false);
            LastPrimaryIssue.Record(NewIssue("append", ex, outcomeUnknown: false), Host, Services);
            await LastPrimaryIssue.DelayBeforeRetry();
            return 0;
        }
        catch (RaftQuorumUnavailableException ex)
        {
            // Certainly not applied: wait and let the base class try again.
            EventSourcingLog.AppendFailed(_logger, ex, _provider, Services.GrainId, batch.Length, false, ex.Message);
            LastPrimaryIssue.Record(NewIssue("append", ex, outcomeUnknown: false), Host, Services);
            await LastPrimaryIssue.DelayBeforeRetry();
            return 0;
        }
        catch (Exception ex)
        {
            // Maybe applied: only the journal can tell. Wait, re-read it and look for this batch's records.
            EventSourcingLog.AppendFailed(_logger, ex, _provider, Services.GrainId, batch.Length, true, ex.Message);
            LastPrimaryIssue.Record(NewIssue("append", ex, outcomeUnknown: true), Host, Services);
            await LastPrimaryIssue.DelayBeforeRetry();
            return await SettleAsync(batch);
        }

        if (!outcome.Applied)
        {
            // Another activation appended since this view was read (a second activation during a failover), or an
            // earlier attempt of ours whose answer was lost landed after all: catch up and see which.
            EventSourcingLog.AppendConflict(_logger, _provider, Services.GrainId, _etag, outcome.StoredETag, _version);
            return await SettleAsync(batch);
        }

        // Applied at our ETag: when the journal did not exist there, this append started its incarnation.
        if (_incarnation == 0)
        {
            _incarnation = outcome.ETag;
        }

        _etag = outcome.ETag;
        if (newEpoch is not null)
        {
            _epoch = newEpoch;
        }

        foreach (var submission in batch)
        {
            _writers.Observe(_writer, submission.Sequence, _version);
            UpdateView(submission.Entry!, nameof(WriteAsync));
            _version++;
        }

        LastPrimaryIssue.Resolve(Host, Services);
        await SaveSnapshotIfDueAsync();
        return batch.Length;
    }

    // After a conflict or an unknown outcome: catches up from the journal and answers how many pending events it
    // already holds (the base class then confirms them instead of appending them again).
    private async Task<int> SettleAsync(RaftSubmissionEntry<TEntry>[] batch)
    {
        var batchLength = batch.Length;
        var found = await CatchUpAsync(batch[0].Sequence);
        if (found < 0)
        {
            // Trimmed away by another activation's snapshot before this one could look, and the snapshot no longer
            // lists this writer: appending again could duplicate the batch, dropping it could lose it. Refuse both.
            EventSourcingLog.OutcomeUndecidable(_logger, _provider, Services.GrainId, batchLength);
            Services.ProtocolError(
                $"Raft log-consistency provider '{_provider}': cannot tell whether {batchLength} events of {Services.GrainId} were appended: their records were trimmed by a snapshot of another activation before this one could read them. Deactivate the grain; its next activation reads the journal as it is.",
                throwexception: true);
        }

        // The journal holds this writer's sequences up to batch[0].Sequence + found - 1. The batch's sequences rise but
        // may skip numbers (a stale conditional event dropped from the middle of the pending events), so count the
        // batch's events up to there rather than taking found itself, which could confirm events never appended.
        var highest = batch[0].Sequence + found - 1;
        var landed = 0;
        while (landed < batchLength && batch[landed].Sequence <= highest)
        {
            landed++;
        }

        if (landed > 0)
        {
            EventSourcingLog.BatchFoundAfterAll(_logger, _provider, Services.GrainId, landed, _version);
        }

        return landed;
    }

    private async Task SaveSnapshotIfDueAsync()
    {
        if (_options.SnapshotInterval == 0 || _version - _snapshotCount < _options.SnapshotInterval || _epoch is null || _incarnation == 0)
        {
            return;
        }

        var at = _version;
        try
        {
            var view = _serializer.Serialize(_view).ToMemory();
            var snapshot = SnapshotCodec.Encode(_epoch, _writers, view.Span);
            var outcome = await _journal.SaveSnapshotAsync(_key, _incarnation, at, snapshot, _options.TrimHistory, CancellationToken.None);
            if (outcome == JournalSnapshotOutcome.IncarnationChanged)
            {
                // Cleared by another activation since this view was built: the snapshot describes records that are
                // gone, and the store refused it without trimming anything. The next write conflicts and starts over.
                EventSourcingLog.SnapshotSkipped(_logger, _provider, Services.GrainId, at);
                return;
            }

            // Saved, or another activation already saved one at this count or later: either way none is due here.
            _snapshotCount = at;
            EventSourcingLog.SnapshotSaved(_logger, _provider, Services.GrainId, at, snapshot.Length, _options.TrimHistory);
        }
        catch (Exception ex)
        {
            // A missing snapshot only costs replay time; the next write tries again.
            EventSourcingLog.SnapshotFailed(_logger, ex, _provider, Services.GrainId, at, ex.Message);
        }
    }

    // Deletes the journal (a tombstone with a new ETag), whatever another activation appended meanwhile; the base
    // class then resets the view to the initial state. Retries failures; an unknown outcome is settled by reading.
    protected override async Task ClearPrimaryLogAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                var outcome = await _journal.DeleteAsync(_key, _etag, cancellationToken);
                if (outcome.Applied)
                {
                    _etag = outcome.ETag;
                    _incarnation = 0;
                    _epoch = null;
                    _snapshotCount = 0;
                    LastPrimaryIssue.Resolve(Host, Services);
                    EventSourcingLog.JournalCleared(_logger, _provider, Services.GrainId, _etag);
                    return;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                EventSourcingLog.ClearFailed(_logger, ex, _provider, Services.GrainId, ex.Message);
                LastPrimaryIssue.Record(NewIssue("delete", ex, ex is not RaftQuorumUnavailableException), Host, Services);
                await LastPrimaryIssue.DelayBeforeRetry();
            }

            // Refused (someone appended) or unknown: read where the journal stands; a tombstone means it is cleared.
            var state = await _journal.ReadAsync(_key, cancellationToken);
            if (!state.Exists)
            {
                _etag = state.ETag;
                _incarnation = 0;
                _epoch = null;
                _snapshotCount = 0;
                return;
            }

            _etag = state.ETag;
            _incarnation = state.Incarnation;
        }
    }

    // Events [fromVersion, toVersion) of the confirmed history, from the replicated journal.
    public override async Task<IReadOnlyList<TEntry>> RetrieveLogSegment(int fromVersion, int toVersion)
    {
        if (fromVersion < 0 || toVersion < fromVersion || toVersion > _version)
        {
            throw new ArgumentOutOfRangeException(
                nameof(toVersion), $"Events [{fromVersion}, {toVersion}) are not within the confirmed history [0, {_version}) of {Services.GrainId}.");
        }

        if (fromVersion == toVersion)
        {
            return [];
        }

        var records = await _journal.ReadRangeAsync(_key, fromVersion, toVersion, CancellationToken.None);
        var events = new TEntry[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            var (_, _, payload) = EventRecord.Decode(records[i]);
            events[i] = _serializer.Deserialize<TEntry>(new BinaryData(payload))
                ?? throw new InvalidDataException($"Event {fromVersion + i} of {_key} deserialized to null.");
        }

        return events;
    }

    private RaftJournalOperationFailed NewIssue(string operation, Exception exception, bool outcomeUnknown) =>
        new() { Operation = operation, Exception = exception, OutcomeUnknown = outcomeUnknown, MaxRetryDelay = _options.MaxRetryDelay };
}
