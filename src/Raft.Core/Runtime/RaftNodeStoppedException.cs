namespace Raft.Core.Runtime;

/// <summary>The node stopped, or failed, before the request resolved; its outcome is unknown.</summary>
/// <remarks>
/// A proposal that fails this way may still be committed by the rest of the cluster and applied later, so only
/// idempotent commands may be retried blindly. When the node stopped because of a storage or state-machine failure,
/// <see cref="Exception.InnerException"/> is that failure.
/// </remarks>
public sealed class RaftNodeStoppedException : RaftException
{
    /// <summary>Creates the exception for a node stopped on request.</summary>
    public RaftNodeStoppedException()
        : base("The Raft node stopped before the proposal resolved; it may or may not be applied.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public RaftNodeStoppedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The failure that stopped the node, if any.</param>
    public RaftNodeStoppedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for node <paramref name="nodeId"/>, stopped on request or by <paramref name="failure"/>.</summary>
    /// <param name="nodeId">The node that stopped.</param>
    /// <param name="failure">The failure that stopped it, or null when it was stopped on request.</param>
    /// <returns>The exception.</returns>
    public static RaftNodeStoppedException For(string nodeId, Exception? failure) => failure is null
        ? new RaftNodeStoppedException($"Raft node '{nodeId}' stopped before the request resolved; it may or may not be applied.")
        : new RaftNodeStoppedException(
            $"Raft node '{nodeId}' stopped after a failure ({failure.GetType().Name}: {failure.Message}) before the request resolved; it may or may not be applied.",
            failure);
}
