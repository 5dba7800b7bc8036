namespace Raft.Core.Runtime;

/// <summary>
/// This node can no longer learn what became of a proposal it accepted: either a snapshot from the leader replaced the
/// log around it (the state machine was restored instead of applying the entry here), or this node was removed from
/// the cluster before the entry committed.
/// </summary>
/// <remarks>
/// <see cref="WasApplied"/> tells the two outcomes apart: when true, the command was certainly committed and applied
/// (it is part of the installed snapshot's state), only its result is lost, so it must not be retried; when false it
/// may or may not have been applied, so only idempotent commands may be retried blindly (as with
/// <see cref="RaftNodeStoppedException"/>).
/// </remarks>
public sealed class ProposalResultUnknownException : RaftException
{
    /// <summary>Creates the exception with a default message.</summary>
    public ProposalResultUnknownException()
        : base("This node cannot learn the outcome of the proposal; it may or may not have been applied.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public ProposalResultUnknownException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public ProposalResultUnknownException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for the proposal appended at <paramref name="index"/> in <paramref name="term"/>.</summary>
    /// <param name="index">The log index the proposal was appended at.</param>
    /// <param name="term">The term it was appended in.</param>
    /// <param name="wasApplied">True when the proposal is known to be applied (only its result is unknown).</param>
    /// <param name="reason">Why the outcome cannot be learned, as a sentence.</param>
    public ProposalResultUnknownException(long index, long term, bool wasApplied, string reason)
        : base(wasApplied
            ? $"The proposal appended at index {index} in term {term} was applied, but its result is unknown: {reason} Do not retry it."
            : $"The outcome of the proposal appended at index {index} in term {term} is unknown: {reason} It may or may not be applied; retry only idempotent commands.")
    {
        Index = index;
        Term = term;
        WasApplied = wasApplied;
    }

    /// <summary>The log index the proposal had been appended at, or 0 when not known.</summary>
    public long Index { get; }

    /// <summary>The term it had been appended in, or 0 when not known.</summary>
    public long Term { get; }

    /// <summary>True when the command is known to be committed and applied and only its result is lost.</summary>
    public bool WasApplied { get; }
}
