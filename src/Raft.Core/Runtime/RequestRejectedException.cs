namespace Raft.Core.Runtime;

/// <summary>
/// The leader refused a request that cannot be carried out as asked: a membership change that does not fit the
/// configuration or collides with a pending one, or a leadership transfer to a node that cannot lead.
/// </summary>
/// <remarks>
/// Nothing was appended. The message is the engine's reason and says what to do; retrying the same request unchanged
/// fails the same way until the situation it names changes (for example, once a pending configuration change commits).
/// </remarks>
public sealed class RequestRejectedException : RaftException
{
    /// <summary>Creates the exception with a default message.</summary>
    public RequestRejectedException()
        : base("The leader rejected the request.")
    {
    }

    /// <summary>Creates the exception with the engine's reason.</summary>
    /// <param name="message">Why the request was rejected.</param>
    public RequestRejectedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">Why the request was rejected.</param>
    /// <param name="innerException">The cause.</param>
    public RequestRejectedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
