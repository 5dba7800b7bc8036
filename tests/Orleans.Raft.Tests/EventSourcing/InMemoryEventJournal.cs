using Orleans.Raft.EventSourcing;
using Orleans.Raft.StateMachine;
using Orleans.Raft.Storage;

namespace Orleans.Raft.Tests.EventSourcing;

// What the next write does: succeed, fail before applying (certainly not applied), apply and lose the answer, or
// lose the request (not applied, but the writer cannot know).
public enum JournalFault
{
    None,
    Refuse,
    LoseAnswer,
    LoseRequest,
}

// The journal contract in memory, with injectable faults, for driving the log-view adaptor without a cluster.
internal sealed class InMemoryEventJournal : IEventJournal
{
    private readonly Lock _lock = new();
    private readonly Dictionary<GrainStateKey, Journal> _journals = [];
    private long _lastETag;

    // Consulted before every append or delete.
    public Func<string, JournalFault> Faults { get; set; } = _ => JournalFault.None;

    public int Appends { get; private set; }

    // Snapshots refused because the journal is no longer the incarnation they were taken from.
    public int SnapshotsRefused { get; private set; }

    public Task<EventJournalState> ReadAsync(GrainStateKey key, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_journals.TryGetValue(key, out var j))
            {
                return Task.FromResult(EventJournalState.Empty);
            }

            return Task.FromResult(new EventJournalState(
                j.Exists, j.ETag, j.Incarnation, j.FirstRetained + j.Records.Count, j.FirstRetained, [.. j.Records], j.Snapshot, j.SnapshotCount,
                new Dictionary<string, string>(j.Properties, StringComparer.Ordinal)));
        }
    }

    public Task<IReadOnlyList<ReadOnlyMemory<byte>>> ReadRangeAsync(GrainStateKey key, long from, long to, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var j = _journals[key];
            if (from < j.FirstRetained)
            {
                throw new RaftEventHistoryTrimmedException($"events before {j.FirstRetained} were trimmed");
            }

            return Task.FromResult<IReadOnlyList<ReadOnlyMemory<byte>>>(j.Records.Skip((int)(from - j.FirstRetained)).Take((int)(to - from)).ToArray());
        }
    }

    public Task<JournalWriteOutcome> AppendAsync(
        GrainStateKey key, long expectedETag, IReadOnlyList<ReadOnlyMemory<byte>> records, IReadOnlyDictionary<string, string>? setProperties, CancellationToken cancellationToken)
    {
        var fault = Faults("append");
        if (fault == JournalFault.Refuse)
        {
            throw new RaftQuorumUnavailableException("injected: not applied");
        }

        if (fault == JournalFault.LoseRequest)
        {
            throw new RaftWriteOutcomeUnknownException("injected: the request was lost (not applied)");
        }

        JournalWriteOutcome outcome;
        lock (_lock)
        {
            var j = Get(key);
            if (j.ETag != expectedETag)
            {
                outcome = JournalWriteOutcome.Conflict(j.ETag);
            }
            else
            {
                j.ETag = ++_lastETag;
                if (!j.Exists)
                {
                    // An append onto nothing or a tombstone starts an incarnation, named by its ETag as in the store.
                    j.Exists = true;
                    j.Incarnation = j.ETag;
                }

                j.Records.AddRange(records.Select(r => (ReadOnlyMemory<byte>)r.ToArray()));
                foreach (var (name, value) in setProperties ?? new Dictionary<string, string>())
                {
                    j.Properties[name] = value;
                }

                Appends++;
                outcome = JournalWriteOutcome.Done(j.ETag);
            }
        }

        return fault == JournalFault.LoseAnswer
            ? throw new RaftWriteOutcomeUnknownException("injected: the answer was lost")
            : Task.FromResult(outcome);
    }

    public Task<JournalWriteOutcome> DeleteAsync(GrainStateKey key, long expectedETag, CancellationToken cancellationToken)
    {
        var fault = Faults("delete");
        if (fault == JournalFault.Refuse)
        {
            throw new RaftQuorumUnavailableException("injected: not applied");
        }

        JournalWriteOutcome outcome;
        lock (_lock)
        {
            var j = Get(key);
            if (j.ETag != expectedETag)
            {
                outcome = JournalWriteOutcome.Conflict(j.ETag);
            }
            else
            {
                _journals[key] = new Journal { ETag = ++_lastETag };
                outcome = JournalWriteOutcome.Done(_lastETag);
            }
        }

        return fault == JournalFault.LoseAnswer
            ? throw new RaftWriteOutcomeUnknownException("injected: the answer was lost")
            : Task.FromResult(outcome);
    }

    public Task<JournalSnapshotOutcome> SaveSnapshotAsync(
        GrainStateKey key, long incarnation, long atCount, ReadOnlyMemory<byte> snapshot, bool trimHistory, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var j = Get(key);
            if (!j.Exists || j.Incarnation != incarnation)
            {
                SnapshotsRefused++;
                return Task.FromResult(JournalSnapshotOutcome.IncarnationChanged);
            }

            if (atCount <= j.SnapshotCount && j.Snapshot is not null)
            {
                return Task.FromResult(JournalSnapshotOutcome.NotNewer);
            }

            if (atCount > j.FirstRetained + j.Records.Count || atCount < j.FirstRetained)
            {
                throw new RaftJournalRangeException($"no record count {atCount} in [{j.FirstRetained}, {j.FirstRetained + j.Records.Count}]", j.FirstRetained, j.FirstRetained + j.Records.Count);
            }

            j.Snapshot = snapshot.ToArray();
            j.SnapshotCount = atCount;
            if (trimHistory && atCount > j.FirstRetained)
            {
                j.Records.RemoveRange(0, (int)(atCount - j.FirstRetained));
                j.FirstRetained = atCount;
            }
        }

        return Task.FromResult(JournalSnapshotOutcome.Saved);
    }

    public long Count(GrainStateKey key)
    {
        lock (_lock)
        {
            return _journals.TryGetValue(key, out var j) ? j.FirstRetained + j.Records.Count : 0;
        }
    }

    private Journal Get(GrainStateKey key)
    {
        if (!_journals.TryGetValue(key, out var j))
        {
            _journals[key] = j = new Journal();
        }

        return j;
    }

    private sealed class Journal
    {
        public bool Exists;
        public long ETag;
        public long Incarnation;
        public long FirstRetained;
        public readonly List<ReadOnlyMemory<byte>> Records = [];
        public ReadOnlyMemory<byte>? Snapshot;
        public long SnapshotCount;
        public readonly Dictionary<string, string> Properties = new(StringComparer.Ordinal);
    }
}
