using Microsoft.Extensions.Logging;

namespace Orleans.Raft.Journaling;

/// <summary>The log messages of the Orleans journaling provider on Raft, source-generated; EventIds 4100–4149.</summary>
internal static partial class JournalingLog
{
    [LoggerMessage(EventId = 4100, Level = LogLevel.Debug,
        Message = "Raft journal {JournalId}: read {Records} records ({Bytes} bytes) at ETag {ETag}, format {FormatKey}")]
    public static partial void Read(ILogger logger, string journalId, int records, long bytes, long eTag, string? formatKey);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Trace,
        Message = "Raft journal {JournalId}: appended {Bytes} bytes, ETag {ETag}")]
    public static partial void Appended(ILogger logger, string journalId, int bytes, long eTag);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Debug,
        Message = "Raft journal {JournalId}: compacted {Records} records ({OldBytes} bytes) into {Bytes} bytes, ETag {ETag}")]
    public static partial void Compacted(ILogger logger, string journalId, int records, long oldBytes, int bytes, long eTag);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Information,
        Message = "Raft journal {JournalId}: deleted, tombstone ETag {ETag}")]
    public static partial void Deleted(ILogger logger, string journalId, long eTag);

    [LoggerMessage(EventId = 4104, Level = LogLevel.Warning,
        Message = "Raft journal {JournalId}: {Operation} refused, this activation is fenced (expected ETag {ExpectedETag}, stored {StoredETag}): another activation wrote the journal")]
    public static partial void Fenced(ILogger logger, string journalId, string operation, long expectedETag, long storedETag);

    [LoggerMessage(EventId = 4105, Level = LogLevel.Warning,
        Message = "Raft journal {JournalId}: {Operation} failed: {Reason}")]
    public static partial void OperationFailed(ILogger logger, Exception exception, string journalId, string operation, string reason);
}
