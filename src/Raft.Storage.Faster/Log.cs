using Microsoft.Extensions.Logging;

namespace Raft.Storage.Faster;

/// <summary>Every log message of Raft.Storage.Faster, source-generated; EventIds 3000–3099.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information,
        Message = "Raft log {Directory} recovered in {ElapsedMs} ms: entries [{FirstIndex}, {LastIndex}], {RecordCount} records, {Bytes} bytes scanned, epoch {Epoch}")]
    public static partial void Recovered(ILogger logger, string directory, long elapsedMs, long firstIndex, long lastIndex, long recordCount, long bytes, int epoch);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning,
        Message = "Raft log {Directory}: dropped an unfinished append at address {Address} past the last durable batch ({Reason}); it was never acknowledged")]
    public static partial void TornTailDropped(ILogger logger, string directory, long address, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Critical,
        Message = "Raft log {Directory} failed; the store stops and must be reopened")]
    public static partial void LogFailed(ILogger logger, Exception exception, string directory);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information,
        Message = "Raft log {Directory}: deleted {Count} segment files below the begin address left by an interrupted compaction")]
    public static partial void LeftoverSegmentsDeleted(ILogger logger, string directory, int count);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Information,
        Message = "Snapshot store {Directory}: committed snapshot at index {Index}, term {Term}, {Bytes} bytes")]
    public static partial void SnapshotCommitted(ILogger logger, string directory, long index, long term, long bytes);
}
