namespace Raft.Core.Messages;

/// <summary>A one-way message between two Raft nodes.</summary>
/// <remarks>
/// One shape serves every <see cref="MessageType"/>, as in etcd; the meaning of <see cref="Index"/>,
/// <see cref="LogTerm"/> and the hints depends on the type:
/// <list type="bullet">
/// <item><description>Vote/PreVote: <see cref="Index"/>/<see cref="LogTerm"/> are the candidate's last log index and term.</description></item>
/// <item><description>AppendEntries: <see cref="Index"/>/<see cref="LogTerm"/> are prevLogIndex/prevLogTerm, <see cref="Entries"/> follow it.</description></item>
/// <item><description>AppendEntriesResponse: on success <see cref="Index"/> is the last index now matching the leader; on
/// rejection <see cref="Index"/> echoes the rejected prevLogIndex and <see cref="RejectHint"/>/<see cref="LogTerm"/>
/// give the follower's conflict hint (fast back-off).</description></item>
/// </list>
/// Messages are immutable; the transport may deliver them late, twice, out of order or not at all.
/// </remarks>
public sealed record Message
{
    /// <summary>The kind of message.</summary>
    public required MessageType Type { get; init; }

    /// <summary>The sender's node id.</summary>
    public required string From { get; init; }

    /// <summary>The receiver's node id.</summary>
    public required string To { get; init; }

    /// <summary>The sender's current term (for PreVote: the term it would campaign in).</summary>
    public long Term { get; init; }

    /// <summary>A log term; see the remarks of <see cref="Message"/>.</summary>
    public long LogTerm { get; init; }

    /// <summary>A log index; see the remarks of <see cref="Message"/>.</summary>
    public long Index { get; init; }

    /// <summary>Entries carried by AppendEntries.</summary>
    public IReadOnlyList<Entry> Entries { get; init; } = [];

    /// <summary>The leader's commit index (AppendEntries, Heartbeat).</summary>
    public long Commit { get; init; }

    /// <summary>True when a request was refused (vote not granted, log inconsistent).</summary>
    public bool Reject { get; init; }

    /// <summary>On a rejected AppendEntries: the index the leader should probe next.</summary>
    public long RejectHint { get; init; }

    /// <summary>Opaque bytes echoed from a request to its response (read-index contexts, transfer markers).</summary>
    public ReadOnlyMemory<byte> Context { get; init; }

    /// <summary>On <see cref="MessageType.InstallSnapshot"/>: what the snapshot covers. Its data travels beside the message.</summary>
    public SnapshotMetadata? Snapshot { get; init; }

    /// <inheritdoc />
    public override string ToString()
    {
        var s = $"{From}->{To} {Type} Term:{Term} Log:{LogTerm}/{Index}";
        if (Type is MessageType.AppendEntries or MessageType.Heartbeat)
        {
            s += $" Commit:{Commit}";
        }

        if (Entries.Count > 0)
        {
            s += " Entries:[" + string.Join(", ", Entries) + "]";
        }

        if (Reject)
        {
            s += $" Rejected (Hint: {RejectHint})";
        }

        return s;
    }
}
