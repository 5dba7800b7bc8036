namespace Orleans.Raft.Storage;

/// <summary>What became of a journal snapshot (<see cref="RaftGrainStorage.SaveJournalSnapshotAsync"/>).</summary>
internal enum JournalSnapshotOutcome
{
    /// <summary>Stored (and, when asked, the records below it trimmed).</summary>
    Saved,

    /// <summary>Not stored: the journal already holds a snapshot at the same or a later record count.</summary>
    NotNewer,

    /// <summary>
    /// Not stored, nothing trimmed: the journal is no longer the incarnation the snapshot was taken from (it was deleted,
    /// and perhaps written again, or replaced since). The snapshot describes records that are gone; skip it.
    /// </summary>
    IncarnationChanged,
}
