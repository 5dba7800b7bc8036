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

    /// <summary>Reserved for snapshot installation.</summary>
    InstallSnapshot = 9,

    /// <summary>Reserved for the answer to <see cref="InstallSnapshot"/>.</summary>
    InstallSnapshotResponse = 10,

    /// <summary>Reserved for a follower asking the leader for a read index.</summary>
    ReadIndex = 11,

    /// <summary>Reserved for the answer to <see cref="ReadIndex"/>.</summary>
    ReadIndexResponse = 12,
}
