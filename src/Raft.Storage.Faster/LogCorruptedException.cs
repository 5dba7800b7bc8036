namespace Raft.Storage.Faster;

/// <summary>
/// Stored Raft state failed verification: a checksum mismatch, a record out of order, or missing metadata. The store
/// refuses to open rather than continue with a log that may have lost acknowledged entries.
/// </summary>
/// <remarks>
/// This is not recoverable by the store. A node that hits it must not rejoin its cluster with what is left; restore the
/// directory from a backup or remove the node's data and add it back as a new member so that it catches up from the
/// leader.
/// </remarks>
public sealed class LogCorruptedException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The file that failed verification.</param>
    /// <param name="offset">The byte offset in <paramref name="path"/> where it failed, or -1 when not about one place.</param>
    /// <param name="message">What is wrong and what to do.</param>
    public LogCorruptedException(string path, long offset, string message)
        : base(offset >= 0 ? $"{message} (file '{path}', offset {offset})" : $"{message} (file '{path}')")
    {
        FilePath = path;
        Offset = offset;
    }

    /// <summary>The file that failed verification.</summary>
    public string FilePath { get; }

    /// <summary>The byte offset in <see cref="FilePath"/> where it failed, or -1 when the failure is not about one place.</summary>
    public long Offset { get; }
}
