using System.Collections.Concurrent;

namespace Orleans.Raft.StateMachine;

// Journals: a second keyspace, separate from grain states, of append-only record logs (event-sourced grains, Orleans
// journaling). Same determinism as the states: a journal's ETag is the log index of the entry that last appended to,
// replaced or deleted it. See StoredJournal for what Count, FirstRetained and the snapshot mean.
public sealed partial class GrainStateMachine
{
    // Replaced as a whole by a restore; read without a lock by TryGetJournal. Each value is immutable once published.
    // Publishing a journal stores it under the dictionary's lock, whose acquisition is a full fence: the record slots
    // the applier wrote before are visible to any reader that sees the new journal.
    private volatile ConcurrentDictionary<GrainStateKey, StoredJournal> _journals = new();

    /// <summary>How many journals (tombstones included) the store holds.</summary>
    public int JournalCount => _journals.Count;

    /// <summary>Looks up a journal as of the last applied entry; safe on any thread while the applier applies.</summary>
    internal bool TryGetJournal(GrainStateKey key, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out StoredJournal? journal) =>
        _journals.TryGetValue(key, out journal);

    /// <summary>The journals (tombstones included) whose key has grain type <paramref name="grainType"/>, as of now; any thread.</summary>
    internal IEnumerable<KeyValuePair<GrainStateKey, StoredJournal>> JournalsOfType(string grainType) =>
        _journals.Where(p => string.Equals(p.Key.GrainType, grainType, StringComparison.Ordinal));

    private CommandAnswer ApplyJournal(GrainStateCommand command, long index)
    {
        _journals.TryGetValue(command.Key, out var current);
        if (command.Kind == CommandKind.JournalSnapshot)
        {
            return SaveSnapshot(command, current);
        }

        var stored = current?.ETag ?? 0;
        if (stored != command.ExpectedETag)
        {
            return new CommandAnswer(CommandStatus.ETagMismatch, stored);
        }

        var live = current is { Exists: true } ? current : null;
        switch (command.Kind)
        {
            case CommandKind.JournalAppend when live is not null:
                _journals[command.Key] = new StoredJournal(
                    index, live.Incarnation, exists: true, live.Count + command.Records.Count, live.FirstRetained,
                    live.Chunks.Append(live.Count, command.Records), live.Snapshot, live.SnapshotCount,
                    Merge(live.Properties, command.Properties));
                return new CommandAnswer(CommandStatus.Applied, index);
            case CommandKind.JournalAppend:
            case CommandKind.JournalReplace:
                // A new incarnation (or a compaction): only these records, no snapshot, the properties kept and set.
                _journals[command.Key] = new StoredJournal(
                    index, incarnation: index, exists: true, command.Records.Count, firstRetained: 0,
                    JournalRecordChunks.Empty.Append(0, command.Records), snapshot: null, snapshotCount: 0,
                    Merge(live?.Properties, command.Properties));
                return new CommandAnswer(CommandStatus.Applied, index);
            default:
                if (current is null)
                {
                    // Nothing ever written (expected ETag 0 matched): nothing to delete and nothing to fence.
                    return new CommandAnswer(CommandStatus.Applied, 0);
                }

                // A tombstone with a new ETag: an activation that read the journal before cannot write it again.
                _journals[command.Key] = new StoredJournal(
                    index, incarnation: 0, exists: false, count: 0, firstRetained: 0, JournalRecordChunks.Empty, snapshot: null, snapshotCount: 0, properties: null);
                return new CommandAnswer(CommandStatus.Applied, index);
        }
    }

    // Not ETag-conditional and the ETag stays: a snapshot only summarizes records that are already committed, so it
    // never conflicts with an appender. It is conditional on the incarnation it was taken from (carried in the expected
    // ETag slot): after a delete or a replace the record counts start over, and a stale snapshot at a count the new
    // incarnation also reaches would otherwise trim records it never summarized.
    private CommandAnswer SaveSnapshot(GrainStateCommand command, StoredJournal? current)
    {
        if (current is not { Exists: true } || current.Incarnation != command.ExpectedETag)
        {
            return new CommandAnswer(CommandStatus.IncarnationChanged, current?.Incarnation ?? 0);
        }

        if (current.Snapshot is not null && command.AtCount <= current.SnapshotCount)
        {
            return new CommandAnswer(CommandStatus.SnapshotNotNewer, current.SnapshotCount);
        }

        if (command.AtCount > current.Count || command.AtCount < current.FirstRetained)
        {
            return new CommandAnswer(CommandStatus.OutOfRange, current.Count);
        }

        var firstRetained = command.TrimHistory ? command.AtCount : current.FirstRetained;
        _journals[command.Key] = new StoredJournal(
            current.ETag, current.Incarnation, exists: true, current.Count, firstRetained, current.Chunks.TrimBelow(firstRetained),
            command.Data, command.AtCount, current.Properties);
        return new CommandAnswer(CommandStatus.Applied, current.ETag);
    }

    private static IReadOnlyDictionary<string, string>? Merge(IReadOnlyDictionary<string, string>? current, IReadOnlyDictionary<string, string> set)
    {
        if (set.Count == 0 || (current is not null && set.All(p => current.TryGetValue(p.Key, out var value) && value == p.Value)))
        {
            return current;
        }

        var merged = current is null
            ? new Dictionary<string, string>(StringComparer.Ordinal)
            : new Dictionary<string, string>(current, StringComparer.Ordinal);
        foreach (var (name, value) in set)
        {
            merged[name] = value;
        }

        return merged;
    }
}
