using Orleans.Storage;

namespace Orleans.Raft.Storage;

/// <summary>
/// A journal append, replace or delete was refused because the journal's ETag is not the expected one: another
/// activation (or writer) changed the journal since this one read it. Nothing was applied. Derives from
/// <see cref="InconsistentStateException"/>, so the Orleans runtime deactivates the grain that gets it, and the next
/// activation reads the journal again.
/// </summary>
[GenerateSerializer]
public sealed class RaftJournalConflictException : InconsistentStateException
{
    /// <summary>Creates the exception with a default message.</summary>
    public RaftJournalConflictException()
        : base("The journal's ETag is not the expected one: another writer changed it. Read the journal again.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public RaftJournalConflictException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public RaftJournalConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a refused command.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="storedETag">The journal's ETag in the store (0 = never written).</param>
    /// <param name="expectedETag">The ETag the command expected.</param>
    public RaftJournalConflictException(string message, long storedETag, long expectedETag)
        : base(message, FormatETag(storedETag), FormatETag(expectedETag))
    {
        StoredETag = storedETag;
        ExpectedETag = expectedETag;
    }

    /// <summary>The journal's ETag in the store when the command was refused (0 = never written).</summary>
    [Id(0)]
    public long StoredETag { get; private set; }

    /// <summary>The ETag the refused command expected.</summary>
    [Id(1)]
    public long ExpectedETag { get; private set; }

    private static string FormatETag(long etag) => etag.ToString(System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// The journal does not hold the requested records: a range read reaches below the first retained record (the records
/// were trimmed after a snapshot) or beyond the journal's count, or a snapshot names a record count the journal does not
/// have. Nothing was applied.
/// </summary>
[GenerateSerializer]
public sealed class RaftJournalRangeException : RaftGrainStorageException
{
    /// <summary>Creates the exception with a default message.</summary>
    public RaftJournalRangeException()
        : base("The journal does not hold the requested records.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public RaftJournalRangeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public RaftJournalRangeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for a journal's held range.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="firstRetained">The journal's first retained record.</param>
    /// <param name="count">The journal's record count.</param>
    public RaftJournalRangeException(string message, long firstRetained, long count)
        : base(message)
    {
        FirstRetained = firstRetained;
        Count = count;
    }

    /// <summary>The first record the journal still held.</summary>
    [Id(0)]
    public long FirstRetained { get; private set; }

    /// <summary>The journal's record count.</summary>
    [Id(1)]
    public long Count { get; private set; }
}
