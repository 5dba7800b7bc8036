using Orleans.Runtime;

namespace Orleans.Raft.Storage;

/// <summary>A Raft grain-storage operation failed; the subclasses say whether a write may have been applied.</summary>
[GenerateSerializer]
public class RaftGrainStorageException : OrleansException
{
    /// <summary>Creates the exception with a default message.</summary>
    public RaftGrainStorageException()
        : base("A Raft grain-storage operation failed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public RaftGrainStorageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public RaftGrainStorageException(string message, Exception? innerException)
        : base(message, Portable(innerException)!)
    {
    }

    // The exception travels to the grain's caller through Orleans serialization, which has no codec for the Raft
    // layer's own exceptions (or gRPC's): such a cause, or one anywhere among its inner exceptions, would make the whole
    // response unserializable. The cause is then kept as text (types, messages and stack traces) instead.
    private static Exception? Portable(Exception? cause) =>
        cause is null || Serializable(cause) ? cause : new RaftGrainStorageException(cause.ToString());

    private static bool Serializable(Exception exception) =>
        (exception is OrleansException || exception.GetType().Namespace?.StartsWith("System", StringComparison.Ordinal) == true)
        && (exception is AggregateException aggregate
            ? aggregate.InnerExceptions.All(Serializable)
            : exception.InnerException is not { } inner || Serializable(inner));
}

/// <summary>
/// The Raft group could not serve the operation within <c>RaftGrainStorageOptions.OperationTimeout</c> (no leader, or no
/// quorum). A write that fails this way was certainly not applied, so retrying it is safe.
/// </summary>
[GenerateSerializer]
public sealed class RaftQuorumUnavailableException : RaftGrainStorageException
{
    /// <summary>Creates the exception with a default message.</summary>
    public RaftQuorumUnavailableException()
        : base("The Raft group had no leader or no quorum within the operation timeout; the operation was not applied.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public RaftQuorumUnavailableException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The last failure seen.</param>
    public RaftQuorumUnavailableException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A write or clear may or may not have been applied: it reached the Raft group but its answer was lost and retrying
/// within the operation timeout could not settle it. Read the state again (the grain is deactivated and re-reads on
/// its next call) to see which happened; never assume either outcome. An attempt still in the leader's log may yet
/// apply after that read, but only over the ETag it was given: the grain's next write, conditional on the ETag it
/// read, then fails with <see cref="Orleans.Storage.InconsistentStateException"/> instead of losing either update.
/// </summary>
[GenerateSerializer]
public sealed class RaftWriteOutcomeUnknownException : RaftGrainStorageException
{
    /// <summary>Creates the exception with a default message.</summary>
    public RaftWriteOutcomeUnknownException()
        : base("The outcome of the write is unknown: it may or may not have been applied. Read the state again to find out.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public RaftWriteOutcomeUnknownException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The last failure seen.</param>
    public RaftWriteOutcomeUnknownException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>A grain state serialized to more than <c>RaftGrainStorageOptions.MaxStateSize</c> bytes; it was not written.</summary>
[GenerateSerializer]
public sealed class RaftStateTooLargeException : RaftGrainStorageException
{
    /// <summary>Creates the exception with a default message.</summary>
    public RaftStateTooLargeException()
        : base("The grain state is larger than RaftGrainStorageOptions.MaxStateSize; it was not written.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    public RaftStateTooLargeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong and what to do.</param>
    /// <param name="innerException">The cause.</param>
    public RaftStateTooLargeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
