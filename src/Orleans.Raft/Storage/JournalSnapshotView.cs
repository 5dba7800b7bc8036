namespace Orleans.Raft.Storage;

/// <summary>One journal as read from the replicated store, consistent as of one applied entry.</summary>
/// <param name="Exists">False when nothing was ever written or the journal was deleted (a tombstone; its ETag still counts).</param>
/// <param name="ETag">The log index of the entry that last appended to, replaced or deleted the journal; 0 = never written.</param>
/// <param name="Incarnation">The log index of the entry that started the current incarnation (0 when the journal does not exist); snapshots are conditional on it.</param>
/// <param name="Count">Records ever appended to the current incarnation, trimmed ones included (the journal's version).</param>
/// <param name="FirstRetained">The logical index of the first record still held; <paramref name="Records"/> starts there.</param>
/// <param name="Records">The retained records, [FirstRetained, Count); not copied, do not hold on to them longer than needed.</param>
/// <param name="Snapshot">The latest snapshot of the journal's view, or null.</param>
/// <param name="SnapshotCount">The record count <paramref name="Snapshot"/> was taken at (0 without one).</param>
/// <param name="Properties">The journal's properties (metadata such as a format key).</param>
internal sealed record JournalSnapshotView(
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
    /// <summary>What a journal that was never written reads as.</summary>
    public static JournalSnapshotView Missing { get; } = new(
        false, 0, 0, 0, 0, [], null, 0, new Dictionary<string, string>(StringComparer.Ordinal));
}
