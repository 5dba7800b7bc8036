using Microsoft.Extensions.Logging;

namespace Orleans.Raft;

/// <summary>Every log message of Orleans.Raft, source-generated; EventIds 4000–4999.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Information,
        Message = "Raft grain storage {Provider}: starting node {NodeId} with members {Members}, data in {Directory}")]
    public static partial void NodeStarting(ILogger logger, string provider, string nodeId, string members, string directory);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Raft grain storage {Provider}: node {NodeId} started")]
    public static partial void NodeStarted(ILogger logger, string provider, string nodeId);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information,
        Message = "Raft grain storage {Provider}: stopping node {NodeId} (leader: {IsLeader}; a leader hands leadership away first)")]
    public static partial void NodeStopping(ILogger logger, string provider, string nodeId, bool isLeader);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Raft grain storage {Provider}: node {NodeId} stopped")]
    public static partial void NodeStopped(ILogger logger, string provider, string nodeId);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Error, Message = "Raft grain storage {Provider}: node {NodeId} failed to start")]
    public static partial void NodeStartFailed(ILogger logger, Exception exception, string provider, string nodeId);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Information,
        Message = "Raft grain storage {Provider}: node {NodeId} registered client session {SessionId}")]
    public static partial void SessionRegistered(ILogger logger, string provider, string nodeId, long sessionId);

    [LoggerMessage(EventId = 4006, Level = LogLevel.Warning,
        Message = "Raft grain storage {Provider}: client session {SessionId} of node {NodeId} is no longer known to the store; registering a new one")]
    public static partial void SessionLost(ILogger logger, string provider, string nodeId, long sessionId);

    [LoggerMessage(EventId = 4007, Level = LogLevel.Debug,
        Message = "Raft grain storage {Provider}: {Operation} of {Key} on node {NodeId} retries after {Reason}")]
    public static partial void OperationRetry(ILogger logger, string provider, string operation, string key, string nodeId, string reason);

    [LoggerMessage(EventId = 4008, Level = LogLevel.Debug,
        Message = "Raft grain storage {Provider}: {Operation} of {Key} refused: ETag {CurrentETag} given, {StoredETag} stored")]
    public static partial void ETagConflict(ILogger logger, string provider, string operation, string key, string? currentETag, string? storedETag);

    [LoggerMessage(EventId = 4009, Level = LogLevel.Warning,
        Message = "Raft grain storage {Provider}: {Operation} of {Key} on node {NodeId} failed: {Reason}")]
    public static partial void OperationFailed(ILogger logger, Exception? exception, string provider, string operation, string key, string nodeId, string reason);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Warning,
        Message = "Raft grain storage {Provider}: node {NodeId} did not stop cleanly")]
    public static partial void NodeStopFailed(ILogger logger, Exception exception, string provider, string nodeId);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Information,
        Message = "Raft grain storage {Provider}: node {NodeId} started with an empty log in {Directory} (right for a new cluster; a silo that lost its data must not rejoin under its name: README, \"A silo that lost its data\")")]
    public static partial void NodeStartedEmpty(ILogger logger, string provider, string nodeId, string directory);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Warning,
        Message = "Raft grain storage {Provider}: node {NodeId} is not a member of the Raft group ({Configuration}); this silo's start waits until it is added: call AddVoterAsync(\"{NodeId}\") on IRaftMembershipGrain or on the Raft grain storage of any silo of the group (README, \"Adding, removing and replacing silos\"). A silo that was removed: stop it")]
    public static partial void NodeWaitingToJoin(ILogger logger, string provider, string nodeId, string configuration);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Information,
        Message = "Raft grain storage {Provider}: node {NodeId} joined the Raft group ({Configuration}); this silo's start goes on")]
    public static partial void NodeJoined(ILogger logger, string provider, string nodeId, string configuration);

    [LoggerMessage(EventId = 4014, Level = LogLevel.Error, Message = "Raft grain storage {Provider}: {Notice}")]
    public static partial void NodeRemoved(ILogger logger, string provider, string notice);

    [LoggerMessage(EventId = 4015, Level = LogLevel.Information,
        Message = "Raft grain storage {Provider}: node {NodeId} is a member after all: {Reason}")]
    public static partial void NodeNotRemoved(ILogger logger, string provider, string nodeId, string reason);

    [LoggerMessage(EventId = 4016, Level = LogLevel.Warning,
        Message = "Raft grain storage {Provider}: a check of node {NodeId}'s watch for its own removal failed; later checks go on (said once; diagnosis only)")]
    public static partial void RemovalWatchFailed(ILogger logger, Exception exception, string provider, string nodeId);

    [LoggerMessage(EventId = 4017, Level = LogLevel.Information,
        Message = "Raft grain storage {Provider}: node {NodeId} reaches node {MemberId} at {Address} from now on (an address the group recorded)")]
    public static partial void MemberAddressSet(ILogger logger, string provider, string nodeId, string memberId, string address);

    [LoggerMessage(EventId = 4018, Level = LogLevel.Error,
        Message = "Raft grain storage {Provider}: node {NodeId} cannot use the address {Address} for node {MemberId} (recorded by the group, or reported by another silo); it cannot reach that node there. Give it an address this silo's network takes with AddVoterAsync(nodeId, address)")]
    public static partial void MemberAddressUnusable(ILogger logger, Exception exception, string provider, string nodeId, string memberId, string address);

    [LoggerMessage(EventId = 4019, Level = LogLevel.Warning,
        Message = "Raft grain storage {Provider}: node {NodeId} ignores its record of member addresses: {Problem}. It learns them again from the group's log")]
    public static partial void MemberAddressesRecordUnreadable(ILogger logger, string provider, string nodeId, string problem);

    [LoggerMessage(EventId = 4020, Level = LogLevel.Warning,
        Message = "Raft grain storage {Provider}: node {NodeId} could not save the member addresses to {Path}; at its next start it learns them again from the group's log")]
    public static partial void MemberAddressesNotRecorded(ILogger logger, Exception exception, string provider, string nodeId, string path);

    [LoggerMessage(EventId = 4021, Level = LogLevel.Information,
        Message = "Raft grain storage {Provider}: node {NodeId} had no address for its group's leader {LeaderId}; it reaches it at {Address}, as node {Source} does (it missed the entry that recorded it)")]
    public static partial void LeaderAddressLearned(ILogger logger, string provider, string nodeId, string leaderId, string address, string source);

    [LoggerMessage(EventId = 4022, Level = LogLevel.Warning,
        Message = "Raft grain storage {Provider}: node {NodeId}, waiting to be added, could not ask the other silos where their leader is; it goes on waiting and asking (said once)")]
    public static partial void JoinQuestionFailed(ILogger logger, Exception exception, string provider, string nodeId);
}
