namespace Raft.Core.Runtime;

/// <summary>A proposal reached a node that is not the leader; it was not appended anywhere.</summary>
/// <remarks>Retry against <see cref="LeaderId"/> when it is known, or after a short delay when it is not.</remarks>
public sealed class NotLeaderException : RaftException
{
    /// <summary>Creates the exception for a node that knows no leader.</summary>
    public NotLeaderException()
        : this(nodeId: null, leaderId: null)
    {
    }

    /// <summary>Creates the exception with a custom message.</summary>
    /// <param name="message">What went wrong.</param>
    public NotLeaderException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a custom message and its cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public NotLeaderException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception naming the node that refused and the leader it knows.</summary>
    /// <param name="nodeId">The node that refused the proposal, if known.</param>
    /// <param name="leaderId">The leader that node knows, or null when it knows none.</param>
    public NotLeaderException(string? nodeId, string? leaderId)
        : base(BuildMessage(nodeId, leaderId))
    {
        LeaderId = leaderId;
    }

    /// <summary>The leader the refusing node knows for its current term, or null when it knows none (an election may be running).</summary>
    public string? LeaderId { get; }

    private static string BuildMessage(string? nodeId, string? leaderId)
    {
        var node = nodeId is null ? "This node" : $"Node '{nodeId}'";
        return leaderId is null
            ? $"{node} is not the leader and knows no leader right now (an election may be in progress); retry shortly."
            : $"{node} is not the leader; the current leader is '{leaderId}'. Send the proposal there.";
    }
}
