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
}
