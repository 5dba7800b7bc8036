using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.EventSourcing;
using Orleans.EventSourcing.Common;
using Orleans.Raft.StateMachine;
using Orleans.Storage;

namespace Orleans.Raft.EventSourcing;

// The log view of one JournaledGrain activation over its replicated journal: one record per event, appended in
// batches conditional on the journal's ETag, plus a periodic snapshot of the confirmed view.
//
// The base class serializes all calls to ReadAsync/WriteAsync/ClearPrimaryLogAsync on the grain's scheduler, so the
// fields below need no locks, provided every await here resumes on that scheduler: no ConfigureAwait(false), which
// would run the grain's TransitionState and OnConnectionIssue, and change the view, on a pool thread beside the
// grain's own turns.
internal sealed partial class RaftLogViewAdaptor<TView, TEntry> : PrimaryBasedLogViewAdaptor<TView, TEntry, RaftSubmissionEntry<TEntry>>
    where TView : class, new()
    where TEntry : class
{
    // Set on the first append to an empty journal: tells a later reader whether the journal it knew was cleared and
    // written again (then its view belongs to a journal that no longer exists and it replays from scratch).
    internal const string EpochProperty = "es.epoch";

    private readonly IEventJournal _journal;
    private readonly GrainStateKey _key;
    private readonly RaftLogConsistencyOptions _options;
    private readonly IGrainStorageSerializer _serializer;
    private readonly ILogger _logger;
    private readonly string _provider;
    private readonly TView _pristine;
    private readonly WriterTable _writers = new();

    // This activation's identity in the records it writes, and the sequence number of its next event.
    private readonly Guid _writer = Guid.NewGuid();
    private long _nextSequence;

    // The confirmed view: the fold of the journal's records [0, _version) of incarnation _epoch, read or written at
    // journal ETag _etag, where the store's incarnation was _incarnation (0: the journal did not exist at _etag).
    // Invariant: _version <= the journal's Count as of _etag.
    private TView _view = null!;
    private int _version;
    private long _etag;
    private long _incarnation;
    private string? _epoch;
    private long _snapshotCount;

    public RaftLogViewAdaptor(
        ILogViewAdaptorHost<TView, TEntry> host,
        TView initialState,
        ILogConsistencyProtocolServices services,
        IEventJournal journal,
        GrainStateKey key,
        RaftLogConsistencyOptions options,
        IGrainStorageSerializer serializer,
        ILogger logger,
        string provider)
        : base(host, initialState, services)
    {
        _journal = journal;
        _key = key;
        _options = options;
        _serializer = serializer;
        _logger = logger;
        _provider = provider;
        _pristine = services.DeepCopy(initialState);
    }

    // Test hooks: where this activation stands in the journal.
    internal long ETag => _etag;

    internal Guid Writer => _writer;

    protected override void InitializeConfirmedView(TView initialstate)
    {
        // Also called by the base class after a ClearLogAsync, with the grain's initial state.
        _view = initialstate;
        _version = 0;
        _writers.Clear();
    }

    protected override TView LastConfirmedView() => _view;

    protected override int GetConfirmedVersion() => _version;

    protected override RaftSubmissionEntry<TEntry> MakeSubmissionEntry(TEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var payload = _serializer.Serialize(entry).ToMemory();
        var sequence = _nextSequence++;
        return new RaftSubmissionEntry<TEntry> { Entry = entry, Sequence = sequence, Record = EventRecord.Encode(_writer, sequence, payload.Span) };
    }

    protected override async Task ReadAsync()
    {
        await CatchUpAsync(firstPendingSequence: long.MaxValue);
    }

    // Reads the journal (retrying until it succeeds) and brings the confirmed view up to it. Returns how many of this
    // activation's pending events, from firstPendingSequence on, the journal already holds (an earlier attempt whose
    // answer was lost landed), or -1 when that cannot be told because the records were trimmed away.
    private async Task<int> CatchUpAsync(long firstPendingSequence)
    {
        while (true)
        {
            try
            {
                var state = await _journal.ReadAsync(_key, CancellationToken.None);
                var landed = Apply(state, firstPendingSequence);
                LastPrimaryIssue.Resolve(Host, Services);
                return landed;
            }
            catch (Exception ex)
            {
                EventSourcingLog.ReadFailed(_logger, ex, _provider, Services.GrainId, ex.Message);
                LastPrimaryIssue.Record(new RaftJournalOperationFailed { Operation = "read", Exception = ex, MaxRetryDelay = _options.MaxRetryDelay }, Host, Services);
            }

            await LastPrimaryIssue.DelayBeforeRetry();
        }
    }

    private int Apply(EventJournalState state, long firstPendingSequence)
    {
        var epoch = state.Properties.TryGetValue(EpochProperty, out var e) ? e : null;
        var from = _version;
        var gap = false;
        if (!state.Exists || (_version > 0 && (epoch != _epoch || state.Count < _version)))
        {
            // Cleared (and perhaps written again) since this view was built: start over.
            if (_version > 0)
            {
                EventSourcingLog.JournalReplaced(_logger, _provider, Services.GrainId, _version, state.Count);
            }

            ResetView();
            from = 0;
        }

        _epoch = epoch;
        _etag = state.ETag;
        _incarnation = state.Incarnation;
        _snapshotCount = state.SnapshotCount;
        if (!state.Exists)
        {
            // Whatever this activation wrote before the clear went with it.
            return 0;
        }

        if (state.Count > int.MaxValue)
        {
            throw new InvalidDataException($"The journal of {_key} holds {state.Count} events, more than a JournaledGrain's version can count ({int.MaxValue}).");
        }

        // Jump to the snapshot on activation (saves replaying the history) or when the records after the view were
        // trimmed (the only way past them); it must belong to this incarnation of the journal.
        if (state.Snapshot is { } snapshot && state.SnapshotCount > _version && (_version == 0 || _version < state.FirstRetained))
        {
            var decoded = SnapshotCodec.Decode(snapshot);
            if (decoded.Epoch == epoch)
            {
                var view = _serializer.Deserialize<TView>(new BinaryData(decoded.View))
                    ?? throw new InvalidDataException($"The snapshot of {_key} at {state.SnapshotCount} deserialized to null.");
                gap = true;
                _view = view;
                _version = (int)state.SnapshotCount;
                _writers.Load(decoded.Writers, decoded.EvictedThrough);
            }
        }

        if (_version < state.FirstRetained)
        {
            throw new InvalidDataException(
                $"The journal of {_key} keeps events from {state.FirstRetained} on, with no usable snapshot at or after {_version}; the view cannot be rebuilt.");
        }

        for (var position = _version; position < state.Count; position++)
        {
            var (writer, sequence, payload) = EventRecord.Decode(state.Records[(int)(position - state.FirstRetained)]);
            _writers.Observe(writer, sequence, position);
            var entry = _serializer.Deserialize<TEntry>(new BinaryData(payload))
                ?? throw new InvalidDataException($"Event {position} of {_key} deserialized to null.");
            UpdateView(entry, nameof(Apply));
        }

        _version = (int)state.Count;
        if (firstPendingSequence == long.MaxValue)
        {
            return 0;
        }

        // Records skipped by the jump are covered by the snapshot's writer table, unless it dropped writers there.
        if (gap && _writers.EvictedThrough >= from && _writers.HighestSequence(_writer) < firstPendingSequence)
        {
            return -1;
        }

        var highest = _writers.HighestSequence(_writer);
        return highest >= firstPendingSequence ? (int)(highest - firstPendingSequence + 1) : 0;
    }

    private void ResetView()
    {
        _view = Services.DeepCopy(_pristine);
        _version = 0;
        _writers.Clear();
    }

    private void UpdateView(TEntry entry, string where)
    {
        try
        {
            Host.UpdateView(_view, entry);
        }
        catch (Exception ex)
        {
            Services.CaughtUserCodeException("UpdateView", where, ex);
        }
    }
}
