using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Orleans.Raft.EventSourcing;

/// <summary>Log messages of the Raft log-consistency provider, source-generated; EventIds 4150–4199.</summary>
internal static partial class EventSourcingLog
{
    [LoggerMessage(EventId = 4150, Level = LogLevel.Warning,
        Message = "Raft log-consistency {Provider}: reading the journal of {GrainId} failed, retrying: {Reason}")]
    public static partial void ReadFailed(ILogger logger, Exception exception, string provider, GrainId grainId, string reason);

    [LoggerMessage(EventId = 4151, Level = LogLevel.Warning,
        Message = "Raft log-consistency {Provider}: appending {Count} events of {GrainId} failed (outcome unknown: {OutcomeUnknown}), retrying: {Reason}")]
    public static partial void AppendFailed(ILogger logger, Exception exception, string provider, GrainId grainId, int count, bool outcomeUnknown, string reason);

    [LoggerMessage(EventId = 4152, Level = LogLevel.Debug,
        Message = "Raft log-consistency {Provider}: append of {GrainId} refused at ETag {ExpectedETag} (stored {StoredETag}, version {Version}); catching up")]
    public static partial void AppendConflict(ILogger logger, string provider, GrainId grainId, long expectedETag, long storedETag, int version);

    [LoggerMessage(EventId = 4153, Level = LogLevel.Information,
        Message = "Raft log-consistency {Provider}: {Count} events of {GrainId} whose append had no answer are in the journal after all (version now {Version})")]
    public static partial void BatchFoundAfterAll(ILogger logger, string provider, GrainId grainId, int count, int version);

    [LoggerMessage(EventId = 4154, Level = LogLevel.Critical,
        Message = "Raft log-consistency {Provider}: cannot tell whether {Count} events of {GrainId} were appended (trimmed before they could be read back)")]
    public static partial void OutcomeUndecidable(ILogger logger, string provider, GrainId grainId, int count);

    [LoggerMessage(EventId = 4155, Level = LogLevel.Debug,
        Message = "Raft log-consistency {Provider}: saved a snapshot of {GrainId} at version {Version} ({Bytes} bytes, trim history: {Trim})")]
    public static partial void SnapshotSaved(ILogger logger, string provider, GrainId grainId, int version, int bytes, bool trim);

    [LoggerMessage(EventId = 4156, Level = LogLevel.Warning,
        Message = "Raft log-consistency {Provider}: saving a snapshot of {GrainId} at version {Version} failed; the next write tries again: {Reason}")]
    public static partial void SnapshotFailed(ILogger logger, Exception exception, string provider, GrainId grainId, int version, string reason);

    [LoggerMessage(EventId = 4164, Level = LogLevel.Information,
        Message = "Raft log-consistency {Provider}: skipped a snapshot of {GrainId} at version {Version}: the journal is no longer the incarnation it was taken from (it was cleared meanwhile)")]
    public static partial void SnapshotSkipped(ILogger logger, string provider, GrainId grainId, int version);

    [LoggerMessage(EventId = 4157, Level = LogLevel.Information,
        Message = "Raft log-consistency {Provider}: the journal of {GrainId} was cleared (new ETag {ETag})")]
    public static partial void JournalCleared(ILogger logger, string provider, GrainId grainId, long etag);

    [LoggerMessage(EventId = 4158, Level = LogLevel.Warning,
        Message = "Raft log-consistency {Provider}: clearing the journal of {GrainId} failed, retrying: {Reason}")]
    public static partial void ClearFailed(ILogger logger, Exception exception, string provider, GrainId grainId, string reason);

    [LoggerMessage(EventId = 4159, Level = LogLevel.Information,
        Message = "Raft log-consistency {Provider}: the journal of {GrainId} was cleared by another activation since version {Version} (now {Count} events); replaying it")]
    public static partial void JournalReplaced(ILogger logger, string provider, GrainId grainId, int version, long count);

    [LoggerMessage(EventId = 4160, Level = LogLevel.Error, Message = "Log-consistency protocol error in {GrainId}: {Message}")]
    public static partial void ProtocolError(ILogger logger, GrainId grainId, string message);

    [LoggerMessage(EventId = 4161, Level = LogLevel.Error, Message = "Log-consistency exception in {GrainId} at {Where}")]
    public static partial void CaughtException(ILogger logger, Exception exception, GrainId grainId, string where);

    [LoggerMessage(EventId = 4162, Level = LogLevel.Warning, Message = "Exception in user code {Callback} of {GrainId}, called from {Where}")]
    public static partial void CaughtUserCodeException(ILogger logger, Exception exception, GrainId grainId, string callback, string where);

    [LoggerMessage(EventId = 4163, Message = "Log-consistency {GrainId}: {Message}")]
    public static partial void ProtocolMessage(ILogger logger, LogLevel level, GrainId grainId, string message);
}
