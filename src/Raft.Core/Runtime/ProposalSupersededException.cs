namespace Raft.Core.Runtime;

/// <summary>A proposal was appended but lost: another entry took its log index, so it will never be applied.</summary>
/// <remarks>
/// The leader that accepted it lost leadership before the entry was committed, and a later leader's log won (§5.3,
/// §5.4). The command definitely did not and will not take effect, so retrying it is safe.
/// </remarks>
public sealed class ProposalSupersededException : RaftException
{
    /// <summary>Creates the exception with the default message.</summary>
    public ProposalSupersededException()
        : base("The proposal was superseded by another entry at its log index and will never be applied; retrying is safe.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What went wrong.</param>
    public ProposalSupersededException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What went wrong.</param>
    /// <param name="innerException">The cause.</param>
    public ProposalSupersededException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception for the proposal appended at <paramref name="index"/> in <paramref name="term"/>.</summary>
    /// <param name="index">The log index the proposal was appended at.</param>
    /// <param name="term">The term it was appended in.</param>
    /// <param name="supersedingTerm">The term of the entry that proves it lost.</param>
    public ProposalSupersededException(long index, long term, long supersedingTerm)
        : base($"The proposal appended at index {index} in term {term} was superseded by an entry of term {supersedingTerm}; it will never be applied, so retrying is safe.")
    {
        Index = index;
        Term = term;
    }

    /// <summary>The log index the proposal had been appended at, or 0 when not known.</summary>
    public long Index { get; }

    /// <summary>The term the proposal had been appended in, or 0 when not known.</summary>
    public long Term { get; }
}
