namespace Raft.Core.Messages;

/// <summary>The state a node must keep on stable storage (Figure 2 of the Raft paper, plus the commit index).</summary>
/// <param name="Term">The latest term this node has seen.</param>
/// <param name="VotedFor">The candidate this node voted for in <paramref name="Term"/>, or null.</param>
/// <param name="Commit">The highest index known committed; kept so that a restart can apply without waiting for a leader.</param>
public readonly record struct HardState(long Term, string? VotedFor, long Commit)
{
    /// <summary>The state of a node that has never run.</summary>
    public static HardState Empty => default;
}
