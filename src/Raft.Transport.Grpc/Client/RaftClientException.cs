namespace Raft.Transport.Grpc.Client;

/// <summary>A client call to the cluster failed.</summary>
/// <remarks>
/// When <see cref="OutcomeUnknown"/> is true the command may or may not have been applied (the call broke or timed
/// out after it was sent); a caller that needs exactly-once effects must make its commands idempotent or check.
/// When false, the cluster definitely did not apply it (no node was reachable, or it kept refusing).
/// </remarks>
public sealed class RaftClientException : Exception
{
    /// <summary>Creates an exception whose outcome is known (not applied).</summary>
    public RaftClientException()
        : this("The Raft cluster did not execute the call.")
    {
    }

    /// <summary>Creates an exception whose outcome is known (not applied).</summary>
    /// <param name="message">What failed.</param>
    public RaftClientException(string message)
        : base(message)
    {
    }

    /// <summary>Creates an exception whose outcome is known (not applied).</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public RaftClientException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates an exception.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="outcomeUnknown">Whether the command may have been applied.</param>
    /// <param name="innerException">The cause.</param>
    public RaftClientException(string message, bool outcomeUnknown, Exception? innerException = null)
        : base(message, innerException)
    {
        OutcomeUnknown = outcomeUnknown;
    }

    /// <summary>True when the command may have been applied although the call failed.</summary>
    public bool OutcomeUnknown { get; }
}
