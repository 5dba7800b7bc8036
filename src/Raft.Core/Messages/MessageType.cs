namespace Raft.Core.Messages;

/// <summary>The kinds of messages Raft nodes exchange.</summary>
public enum MessageType : byte
{
    /// <summary>A pre-vote request (thesis §9.6): would you vote for me? Changes no state at the receiver.</summary>
    PreVote = 0,

    /// <summary>The answer to <see cref="PreVote"/>.</summary>
    PreVoteResponse = 1,

    /// <summary>RequestVote (§5.2).</summary>
    Vote = 2,

    /// <summary>The answer to <see cref="Vote"/>.</summary>
    VoteResponse = 3,

    /// <summary>AppendEntries carrying entries (§5.3).</summary>
    AppendEntries = 4,

    /// <summary>The answer to <see cref="AppendEntries"/>.</summary>
    AppendEntriesResponse = 5,

    /// <summary>An empty AppendEntries that asserts leadership and carries the commit index.</summary>
    Heartbeat = 6,

    /// <summary>The answer to <see cref="Heartbeat"/>.</summary>
    HeartbeatResponse = 7,

    /// <summary>Tells the receiver to start an election at once (leadership transfer, thesis §3.10).</summary>
    TimeoutNow = 8,

    /// <summary>
    /// Installs a snapshot on a follower whose next entry was compacted away (§7). The message carries the
    /// <see cref="Message.Snapshot"/> metadata; the data travels as a chunked stream beside it, and the follower answers
    /// with an <see cref="AppendEntriesResponse"/>.
    /// </summary>
    InstallSnapshot = 9,

    /// <summary>A follower asks the leader for a read index (thesis §6.4); <see cref="Message.Context"/> identifies the read.</summary>
    ReadIndex = 11,

    /// <summary>The leader's answer to <see cref="ReadIndex"/>: <see cref="Message.Index"/> is the confirmed read index.</summary>
    ReadIndexResponse = 12,
}
