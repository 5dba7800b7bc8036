using Orleans.Raft.Storage;

namespace Orleans.Raft.Membership;

/// <summary>
/// A membership change asked of <see cref="IRaftMembershipGrain"/> was not done now: no leader was known, the leader's
/// silo could not be reached or its answer was lost, leadership moved, another change is pending, or the change could
/// not be confirmed committed in time. Retrying is safe; the message says what happened.
/// </summary>
[GenerateSerializer]
public sealed class RaftMembershipChangeException : RaftGrainStorageException
{
    /// <summary>Creates the exception with a default message.</summary>
    public RaftMembershipChangeException()
        : base("The membership change was not done now; retry.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What happened and what to do.</param>
    public RaftMembershipChangeException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What happened and what to do.</param>
    /// <param name="innerException">The cause (kept as text when Orleans cannot serialize its type).</param>
    public RaftMembershipChangeException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
