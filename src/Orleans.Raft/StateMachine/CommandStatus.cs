namespace Orleans.Raft.StateMachine;

/// <summary>What the replicated store answered to one command.</summary>
internal enum CommandStatus : byte
{
    /// <summary>Applied; the answer's ETag is the new one (0 when a clear deleted the record).</summary>
    Applied = 0,

    /// <summary>Not applied: the expected ETag differs from the stored one, which the answer carries (0 = none).</summary>
    ETagMismatch = 1,

    /// <summary>
    /// Not applied now: the session is unknown (never registered, or evicted). An earlier attempt of the same request
    /// may have been applied, so the outcome of a retried request is unknown.
    /// </summary>
    SessionUnknown = 2,

    /// <summary>
    /// Not applied now: the session had already moved past this request (its answer was discarded), so this is a
    /// late duplicate; whether the first attempt applied is unknown here.
    /// </summary>
    StaleRequest = 3,

    /// <summary>
    /// Not applied: a journal snapshot no newer than the one held (whose record count the answer carries); harmless,
    /// another writer saved the same or a later view.
    /// </summary>
    SnapshotNotNewer = 4,

    /// <summary>
    /// Not applied: a journal snapshot at a record count the journal does not have (beyond its count, below its first
    /// retained record, or the journal does not exist); the answer carries the journal's count.
    /// </summary>
    OutOfRange = 5,

    /// <summary>
    /// Not applied: a journal snapshot taken from another incarnation of the journal than the current one (it was
    /// deleted, and perhaps written again, or replaced since), or of a journal that does not exist; the answer carries
    /// the current incarnation (0 = none). Nothing is stored or trimmed.
    /// </summary>
    IncarnationChanged = 6,
}
