namespace Raft.Core.Runtime;

/// <summary>A request did not complete within its bound: a linearizable read or a leadership transfer.</summary>
/// <remarks>
/// Retryable. A read that times out had no effect. A leadership transfer that times out was abandoned by the leader,
/// which accepts proposals again (thesis §3.10); leadership may still move later through an ordinary election.
/// </remarks>
public sealed class RaftTimeoutException : RaftException
{
    /// <summary>Creates the exception with a default message.</summary>
    public RaftTimeoutException()
        : base("The Raft request timed out; retry it.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What timed out.</param>
    public RaftTimeoutException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What timed out.</param>
    /// <param name="innerException">The cause.</param>
    public RaftTimeoutException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
