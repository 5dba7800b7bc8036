namespace Raft.Core.Runtime;

/// <summary>The base of the exceptions a Raft node raises to callers.</summary>
/// <remarks>
/// Each subclass tells the caller what became of the request: <see cref="NotLeaderException"/> and
/// <see cref="ProposalDroppedException"/> mean it was never appended (safe to retry),
/// <see cref="ProposalSupersededException"/> means it was appended but can never be applied (safe to retry), and
/// <see cref="RaftNodeStoppedException"/> means its outcome is unknown (retry only idempotent commands).
/// </remarks>
public class RaftException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public RaftException()
        : base("A Raft operation failed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public RaftException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public RaftException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
