namespace Raft.Core.Engine;

/// <summary>How the engine took a proposal.</summary>
public enum ProposeStatus
{
    /// <summary>Appended to the leader's log at <see cref="ProposeOutcome.Index"/>; not yet committed.</summary>
    Accepted,

    /// <summary>This node is not the leader; <see cref="ProposeOutcome.LeaderHint"/> names the leader it knows, if any.</summary>
    NotLeader,

    /// <summary>The leader refused it for now (leadership transfer in progress, or too much uncommitted data); retry.</summary>
    Dropped,

    /// <summary>The request cannot be carried out as asked; <see cref="ProposeOutcome.Reason"/> says why.</summary>
    Rejected,
}

/// <summary>The engine's answer to a proposal.</summary>
/// <param name="Status">Whether the proposal was appended.</param>
/// <param name="Index">The log index it was appended at, when accepted.</param>
/// <param name="Term">The term it was appended in, when accepted; an entry with another term at
/// <paramref name="Index"/> means the proposal was superseded.</param>
/// <param name="LeaderHint">The known leader, when not accepted (for a leadership transfer: the chosen target).</param>
/// <param name="Reason">Why the request was dropped or rejected, in words that say what to do.</param>
public readonly record struct ProposeOutcome(ProposeStatus Status, long Index, long Term, string? LeaderHint, string? Reason = null)
{
    /// <summary>True when the entry was appended.</summary>
    public bool IsAccepted => Status == ProposeStatus.Accepted;
}
