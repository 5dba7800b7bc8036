namespace Raft.Core.Runtime;

/// <summary>The outcome of a proposal that was committed and applied.</summary>
/// <param name="Index">The log index the command was committed at.</param>
/// <param name="Response">What the state machine returned for it.</param>
public sealed record ProposalResult(long Index, ReadOnlyMemory<byte> Response);
