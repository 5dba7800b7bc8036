namespace Raft.Core.Runtime;

/// <summary>The leader refused a proposal for now, so it was not appended; retrying later is safe.</summary>
/// <remarks>Happens while a leadership transfer is in progress or when too much proposed data is still uncommitted.</remarks>
public sealed class ProposalDroppedException : RaftException
{
    /// <summary>Creates the exception with the default message.</summary>
    public ProposalDroppedException()
        : base("The leader dropped the proposal (leadership transfer in progress or too much uncommitted data); it was not appended. Retry later.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public ProposalDroppedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public ProposalDroppedException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
