using Microsoft.Extensions.Logging;
using Raft.Core.Engine;

namespace Raft.Core;

/// <summary>Every log message of Raft.Core, source-generated; EventIds 1000–1999.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Information,
        Message = "Raft node {NodeId} starting: term {Term}, voted for {VotedFor}, commit {Commit}, {EntryCount} log entries recovered")]
    public static partial void NodeStarting(ILogger logger, string nodeId, long term, string? votedFor, long commit, int entryCount);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information,
        Message = "Raft node {NodeId} started with voters {Voters}, tick interval {TickInterval}")]
    public static partial void NodeStarted(ILogger logger, string nodeId, string voters, TimeSpan tickInterval);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Raft node {NodeId} stopping")]
    public static partial void NodeStopping(ILogger logger, string nodeId);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Information,
        Message = "Raft node {NodeId} stopped; {PendingCount} pending proposals failed")]
    public static partial void NodeStopped(ILogger logger, string nodeId, int pendingCount);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information,
        Message = "Raft node {NodeId} is now {Role} in term {Term}, leader {LeaderId}")]
    public static partial void RoleChanged(ILogger logger, string nodeId, StateRole role, long term, string? leaderId);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Critical,
        Message = "Raft node {NodeId} stopped because its {Stage} failed; the node must not continue on an unknown state")]
    public static partial void NodeFailed(ILogger logger, Exception exception, string nodeId, string stage);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Error, Message = "Raft node {NodeId} failed to start")]
    public static partial void StartFailed(ILogger logger, Exception exception, string nodeId);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Information,
        Message = "Raft node {NodeId} restored its state machine from the snapshot at index {Index} (term {Term}), configuration {Configuration}")]
    public static partial void SnapshotRecovered(ILogger logger, string nodeId, long index, long term, string configuration);

    [LoggerMessage(EventId = 1008, Level = LogLevel.Warning,
        Message = "Raft node {NodeId} reset its log [{FirstIndex}, {LastIndex}] to start after the snapshot at index {SnapshotIndex}: {Reason}")]
    public static partial void LogResetOnRecovery(ILogger logger, string nodeId, long firstIndex, long lastIndex, long snapshotIndex, string reason);

    [LoggerMessage(EventId = 1009, Level = LogLevel.Information,
        Message = "Raft node {NodeId} wrote a snapshot at index {Index} (term {Term}) in {ElapsedMilliseconds} ms")]
    public static partial void SnapshotWritten(ILogger logger, string nodeId, long index, long term, double elapsedMilliseconds);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Debug,
        Message = "Raft node {NodeId} compacted its log through index {ThroughIndex} behind the snapshot at index {SnapshotIndex}")]
    public static partial void LogCompacted(ILogger logger, string nodeId, long throughIndex, long snapshotIndex);

    [LoggerMessage(EventId = 1011, Level = LogLevel.Information,
        Message = "Raft node {NodeId} installed the snapshot at index {Index} (term {Term}) from the leader")]
    public static partial void SnapshotInstalled(ILogger logger, string nodeId, long index, long term);

    [LoggerMessage(EventId = 1012, Level = LogLevel.Information,
        Message = "Raft node {NodeId} is sending the snapshot at index {Index} (term {Term}) to {FollowerId}")]
    public static partial void SnapshotSending(ILogger logger, string nodeId, string followerId, long index, long term);

    [LoggerMessage(EventId = 1013, Level = LogLevel.Information, Message = "Raft node {NodeId} sent the snapshot at index {Index} to {FollowerId}")]
    public static partial void SnapshotSent(ILogger logger, string nodeId, string followerId, long index);

    [LoggerMessage(EventId = 1014, Level = LogLevel.Warning,
        Message = "Raft node {NodeId} failed to send a snapshot to {FollowerId}; it will retry: {Reason}")]
    public static partial void SnapshotSendFailed(ILogger logger, string nodeId, string followerId, string reason);

    [LoggerMessage(EventId = 1015, Level = LogLevel.Information,
        Message = "Raft node {NodeId} stored the snapshot at index {Index} (term {Term}) received from {LeaderId}")]
    public static partial void SnapshotReceived(ILogger logger, string nodeId, string leaderId, long index, long term);

    [LoggerMessage(EventId = 1016, Level = LogLevel.Warning,
        Message = "Raft node {NodeId} did not store the snapshot at index {Index} from {LeaderId}: {Reason}")]
    public static partial void SnapshotReceiveFailed(ILogger logger, string nodeId, string leaderId, long index, string reason);

    [LoggerMessage(EventId = 1017, Level = LogLevel.Information,
        Message = "Raft node {NodeId} proposed the membership change {Kind} {MemberId} at index {Index}")]
    public static partial void MembershipChangeProposed(ILogger logger, string nodeId, Membership.ConfigurationChangeKind kind, string memberId, long index);

    [LoggerMessage(EventId = 1018, Level = LogLevel.Warning,
        Message = "Raft node {NodeId} was removed from the cluster while leading; {Count} proposals it can no longer follow failed with an unknown outcome")]
    public static partial void RemovedLeaderFailedProposals(ILogger logger, string nodeId, int count);

    [LoggerMessage(EventId = 1019, Level = LogLevel.Information, Message = "Raft node {NodeId} is transferring leadership to {TargetId}")]
    public static partial void LeadershipTransferStarted(ILogger logger, string nodeId, string? targetId);

    [LoggerMessage(EventId = 1020, Level = LogLevel.Information, Message = "Raft node {NodeId} handed leadership to {LeaderId} before stopping")]
    public static partial void LeadershipHandedOverBeforeStop(ILogger logger, string nodeId, string leaderId);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Warning,
        Message = "Raft node {NodeId} stops without handing over leadership, so the voters still running elect a leader after an election timeout: {Reason}")]
    public static partial void TransferBeforeStopFailed(ILogger logger, string nodeId, string reason);

    [LoggerMessage(EventId = 1022, Level = LogLevel.Debug,
        Message = "Raft node {NodeId} did not store the snapshot at index {Index} from {LeaderId} (term {MessageTerm}): it is at term {Term} with commit index {CommitIndex}, so the engine will not install it")]
    public static partial void SnapshotIgnored(ILogger logger, string nodeId, string leaderId, long index, long messageTerm, long term, long commitIndex);

    [LoggerMessage(EventId = 1023, Level = LogLevel.Warning,
        Message = "Raft node {NodeId} (leader) took {Ticks} ticks at once: its loop did not run for about {Milliseconds} ms (a starved machine or a stalled store)")]
    public static partial void LoopHeld(ILogger logger, string nodeId, long ticks, double milliseconds);

    [LoggerMessage(EventId = 1024, Level = LogLevel.Warning,
        Message = "Raft node {NodeId}'s durable write of {EntryCount} entries (hard state: {HardState}) took {Milliseconds:F0} ms, at least half the election timeout ({ElectionTimeoutMilliseconds} ms): the log or hard-state store is slow")]
    public static partial void SlowWrite(ILogger logger, string nodeId, int entryCount, bool hardState, double milliseconds, double electionTimeoutMilliseconds);
}
