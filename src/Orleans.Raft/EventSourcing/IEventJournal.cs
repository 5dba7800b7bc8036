using Orleans.Raft.Storage;
using Orleans.Raft.StateMachine;

namespace Orleans.Raft.EventSourcing;

// The replicated per-grain journal the log-view adaptor writes to: an ordered list of records with an ETag, an optional
// snapshot and a few properties. RaftEventJournal implements it over RaftGrainStorage's journal keyspace; tests use an
// in-memory one that can lose answers.
//
// Contract: reads are linearizable; AppendAsync applies at most once and only when expectedETag is the stored ETag (else
// it answers a conflict and changes nothing); a failure is RaftQuorumUnavailableException (certainly not applied) or
// any other exception (maybe applied). SaveSnapshotAsync never conflicts with appends and never changes the ETag; it
// applies only while the journal is still the incarnation the snapshot was taken from (else IncarnationChanged, and
// nothing is stored or trimmed).
internal interface IEventJournal
{
    Task<EventJournalState> ReadAsync(GrainStateKey key, CancellationToken cancellationToken);

    // Records [from, to); throws RaftEventHistoryTrimmedException when part of the range was trimmed.
    Task<IReadOnlyList<ReadOnlyMemory<byte>>> ReadRangeAsync(GrainStateKey key, long from, long to, CancellationToken cancellationToken);

    Task<JournalWriteOutcome> AppendAsync(
        GrainStateKey key,
        long expectedETag,
        IReadOnlyList<ReadOnlyMemory<byte>> records,
        IReadOnlyDictionary<string, string>? setProperties,
        CancellationToken cancellationToken);

    Task<JournalWriteOutcome> DeleteAsync(GrainStateKey key, long expectedETag, CancellationToken cancellationToken);

    Task<JournalSnapshotOutcome> SaveSnapshotAsync(GrainStateKey key, long incarnation, long atCount, ReadOnlyMemory<byte> snapshot, bool trimHistory, CancellationToken cancellationToken);
}

// One linearizable read of a journal. Records hold the retained records [FirstRetained, Count). Incarnation is the
// store's id of the current incarnation (the log index that started it; 0 when the journal does not exist).
// Invariant: FirstRetained <= Count; Records.Count == Count - FirstRetained; SnapshotCount <= Count.
internal sealed record EventJournalState(
    bool Exists,
    long ETag,
    long Incarnation,
    long Count,
    long FirstRetained,
    IReadOnlyList<ReadOnlyMemory<byte>> Records,
    ReadOnlyMemory<byte>? Snapshot,
    long SnapshotCount,
    IReadOnlyDictionary<string, string> Properties)
{
    public static readonly EventJournalState Empty = new(
        false, 0, 0, 0, 0, [], null, 0, new Dictionary<string, string>(StringComparer.Ordinal));
}

// The answer to a conditional write: applied with a new ETag, or refused because the stored ETag is another one.
internal readonly record struct JournalWriteOutcome(bool Applied, long ETag, long StoredETag)
{
    public static JournalWriteOutcome Done(long etag) => new(true, etag, etag);

    public static JournalWriteOutcome Conflict(long storedETag) => new(false, 0, storedETag);
}
