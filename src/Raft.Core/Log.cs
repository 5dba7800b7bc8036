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
}
