using System.Collections;

namespace Orleans.Raft.StateMachine;

/// <summary>
/// One journal as the replicated store holds it, as of one applied entry; immutable once published (the applier
/// publishes a new one for every change), so a reader that holds it sees a consistent journal.
/// </summary>
/// <remarks>
/// <para>
/// Count is the number of records ever appended to the current incarnation, trimmed ones included: it is the
/// journal's version. An append adds its records; a replace starts a new incarnation holding only its records (Count =
/// their number, FirstRetained = 0, snapshot dropped); a delete leaves a tombstone (Exists false, Count 0) whose ETag
/// still counts, and the next append or replace (with the tombstone's ETag) starts a new incarnation. Incarnation is
/// the log index of the command that started the current incarnation (0 for a tombstone): a journal snapshot is
/// conditional on it, so a snapshot taken from an earlier incarnation can never trim a later one.
/// </para>
/// <para>Invariant: 0 &lt;= FirstRetained &lt;= Count; with a snapshot, FirstRetained &lt;= SnapshotCount &lt;= Count.</para>
/// </remarks>
internal sealed class StoredJournal
{
    private static readonly IReadOnlyDictionary<string, string> NoProperties = new Dictionary<string, string>(StringComparer.Ordinal);

    public StoredJournal(
        long eTag,
        long incarnation,
        bool exists,
        long count,
        long firstRetained,
        JournalRecordChunks chunks,
        ReadOnlyMemory<byte>? snapshot,
        long snapshotCount,
        IReadOnlyDictionary<string, string>? properties)
    {
        System.Diagnostics.Debug.Assert(exists ? incarnation >= 1 && incarnation <= eTag : incarnation == 0, "A live journal has an incarnation, a tombstone none.");
        System.Diagnostics.Debug.Assert(firstRetained >= 0 && firstRetained <= count, "FirstRetained lies within the records.");
        System.Diagnostics.Debug.Assert(snapshot is null || (snapshotCount >= firstRetained && snapshotCount <= count), "A snapshot lies within the records.");
        ETag = eTag;
        Incarnation = incarnation;
        Exists = exists;
        Count = count;
        FirstRetained = firstRetained;
        Chunks = chunks;
        Snapshot = snapshot;
        SnapshotCount = snapshot is null ? 0 : snapshotCount;
        Properties = properties ?? NoProperties;
    }

    /// <summary>The log index of the entry that last appended to, replaced or deleted the journal.</summary>
    public long ETag { get; }

    /// <summary>
    /// The log index of the entry that started the current incarnation (an append onto nothing or a tombstone, or a
    /// replace); 0 for a tombstone. Appends and snapshots keep it.
    /// </summary>
    public long Incarnation { get; }

    /// <summary>False for the tombstone a delete leaves.</summary>
    public bool Exists { get; }

    /// <summary>Records ever appended to this incarnation (its version), trimmed ones included.</summary>
    public long Count { get; }

    /// <summary>The logical index of the first record still held.</summary>
    public long FirstRetained { get; }

    /// <summary>The records, by logical index; only [FirstRetained, Count) may be read.</summary>
    public JournalRecordChunks Chunks { get; }

    /// <summary>The latest snapshot of the journal's view, or null.</summary>
    public ReadOnlyMemory<byte>? Snapshot { get; }

    /// <summary>The record count <see cref="Snapshot"/> was taken at (0 without one).</summary>
    public long SnapshotCount { get; }

    /// <summary>The journal's properties (metadata such as a format key).</summary>
    public IReadOnlyDictionary<string, string> Properties { get; }

    /// <summary>The records [from, to) without copying; the caller checked FirstRetained &lt;= from &lt;= to &lt;= Count.</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Range(long from, long to)
    {
        System.Diagnostics.Debug.Assert(from >= FirstRetained && from <= to && to <= Count, "The range is held.");
        return new RecordRange(Chunks, from, checked((int)(to - from)));
    }

    /// <summary>The records still held, [FirstRetained, Count).</summary>
    public IReadOnlyList<ReadOnlyMemory<byte>> Retained => Range(FirstRetained, Count);

    private sealed class RecordRange(JournalRecordChunks chunks, long from, int count) : IReadOnlyList<ReadOnlyMemory<byte>>
    {
        public int Count => count;

        public ReadOnlyMemory<byte> this[int index] => (uint)index < (uint)count
            ? chunks[from + index]
            : throw new ArgumentOutOfRangeException(nameof(index), index, $"The range holds {count} records.");

        public IEnumerator<ReadOnlyMemory<byte>> GetEnumerator()
        {
            for (var i = 0; i < count; i++)
            {
                yield return chunks[from + i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
