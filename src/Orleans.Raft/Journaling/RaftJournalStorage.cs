using System.Buffers;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Journaling;
using Orleans.Raft.StateMachine;
using Orleans.Raft.Storage;

namespace Orleans.Raft.Journaling;

/// <summary>One activation's view of its journal in the Raft store (created by <see cref="RaftJournalStorageProvider"/>).</summary>
/// <remarks>
/// <para>
/// Every write is conditional on the ETag this instance read or last wrote (the log index of the journal's last
/// append, replace or delete). A second activation of the same grain that wrote in between makes the next write of
/// this one fail with <see cref="RaftJournalConflictException"/> (an <c>InconsistentStateException</c>): the state
/// manager fences itself and the grain is deactivated, so the journal never forks. A write whose outcome is unknown
/// leaves the ETag behind as well, so the next write is refused rather than applied on a guess.
/// </para>
/// <para>
/// Each append is one record (the bytes the manager hands over); a replace (compaction) leaves one record. The format
/// key of the manager's options is stored as a property of the journal and handed back on reads.
/// </para>
/// <para>Not thread-safe: the state manager of one activation calls it one operation at a time.</para>
/// </remarks>
internal sealed partial class RaftJournalStorage : IJournalStorage
{
    /// <summary>The journal property that holds the format key (provider-owned; callers cannot set it).</summary>
    internal const string FormatKeyProperty = "orleans.journaling.format";

    private readonly RaftGrainStorage _storage;
    private readonly GrainStateKey _key;
    private readonly string _journalId;
    private readonly string _formatKey;
    private readonly RaftJournalStorageOptions _options;
    private readonly ILogger _logger;

    // The journal as this instance last read or wrote it: its records, the bytes of the first one (after a compaction,
    // the snapshot of the grain's state) and the bytes of the others (appended since).
    private long _eTag;
    private string? _storedFormatKey;
    private int _records;
    private long _baseBytes;
    private long _bytes;

    public RaftJournalStorage(
        RaftGrainStorage storage, GrainStateKey key, string journalId, string formatKey, RaftJournalStorageOptions options, ILogger logger)
    {
        _storage = storage;
        _key = key;
        _journalId = journalId;
        _formatKey = formatKey;
        _options = options;
        _logger = logger;
    }

    /// <inheritdoc />
    /// <remarks>
    /// After more than <c>CompactionRecordThreshold</c> records, or once the records appended after the first (the last
    /// snapshot) outweigh both <c>CompactionByteThreshold</c> and that snapshot: a grain whose state alone exceeds the
    /// byte threshold is then not rewritten on every write.
    /// </remarks>
    public bool IsCompactionRequested =>
        _records > _options.CompactionRecordThreshold || _bytes > Math.Max(_options.CompactionByteThreshold, _baseBytes);

    /// <inheritdoc />
    public async ValueTask ReadAsync(IJournalStorageConsumer consumer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(consumer);
        // No ConfigureAwait(false): consumer.Read below rebuilds the grain's durable state, which is grain code's to
        // touch, on the grain's scheduler only (as the JournaledGrain provider's awaits, found by helper-47).
        var journal = await Guard("read", _storage.ReadJournalAsync(_key, cancellationToken));
        if (journal.Snapshot is not null || journal.FirstRetained != 0)
        {
            throw new InvalidOperationException(
                $"Raft journal {_journalId}: the stored journal has a snapshot or trimmed records, which Orleans journaling never writes; it was written through another API under the same key and cannot be replayed.");
        }

        _eTag = journal.ETag;
        _storedFormatKey = journal.Exists ? journal.Properties.GetValueOrDefault(FormatKeyProperty) : null;
        _records = journal.Records.Count;
        _baseBytes = _records == 0 ? 0 : journal.Records[0].Length;
        _bytes = 0;
        for (var i = 1; i < _records; i++)
        {
            _bytes += journal.Records[i].Length;
        }

        JournalingLog.Read(_logger, _journalId, _records, _baseBytes + _bytes, _eTag, _storedFormatKey);
        consumer.Read(journal.Records, Metadata(journal), complete: true);
    }

    /// <inheritdoc />
    public async ValueTask AppendAsync(ReadOnlySequence<byte> value, CancellationToken cancellationToken)
    {
        if (_records > 0 && _storedFormatKey is not null && !string.Equals(_storedFormatKey, _formatKey, StringComparison.Ordinal))
        {
            throw new InvalidOperationException(
                $"Raft journal {_journalId} holds records in format '{_storedFormatKey}' but this silo writes format '{_formatKey}' (JournaledStateManagerOptions.JournalFormatKey); appending would mix formats. Compact the journal (a replace rewrites it in the new format) or configure the same format on every silo.");
        }

        var record = value.ToArray();
        _eTag = await Guard("append", _storage.AppendJournalAsync(_key, _eTag, [record], FormatProperty(), cancellationToken)).ConfigureAwait(false);
        _storedFormatKey = _formatKey;
        if (_records++ == 0)
        {
            _baseBytes = record.Length;
        }
        else
        {
            _bytes += record.Length;
        }

        RaftJournalingMetrics.AppendBytes.Record(record.Length);
        JournalingLog.Appended(_logger, _journalId, record.Length, _eTag);
    }

    /// <inheritdoc />
    public async ValueTask ReplaceAsync(ReadOnlySequence<byte> value, CancellationToken cancellationToken)
    {
        var record = value.ToArray();
        var (oldRecords, oldBytes) = (_records, _baseBytes + _bytes);
        _eTag = await Guard("replace", _storage.ReplaceJournalAsync(_key, _eTag, [record], FormatProperty(), cancellationToken)).ConfigureAwait(false);
        _storedFormatKey = _formatKey;
        _records = 1;
        _baseBytes = record.Length;
        _bytes = 0;
        RaftJournalingMetrics.Compactions.Add(1);
        JournalingLog.Compacted(_logger, _journalId, oldRecords, oldBytes, record.Length, _eTag);
    }

    /// <inheritdoc />
    public async ValueTask DeleteAsync(CancellationToken cancellationToken)
    {
        _eTag = await Guard("delete", _storage.DeleteJournalAsync(_key, _eTag, cancellationToken)).ConfigureAwait(false);
        _storedFormatKey = null;
        _records = 0;
        _baseBytes = 0;
        _bytes = 0;
        JournalingLog.Deleted(_logger, _journalId, _eTag);
    }

    // Only when the stored key differs: setting an unchanged property would still be carried in every command.
    private Dictionary<string, string>? FormatProperty() => string.Equals(_storedFormatKey, _formatKey, StringComparison.Ordinal)
        ? null
        : new Dictionary<string, string>(StringComparer.Ordinal) { [FormatKeyProperty] = _formatKey };

    internal static JournalMetadata Metadata(JournalSnapshotView journal)
    {
        if (!journal.Exists)
        {
            return new JournalMetadata(null, journal.ETag == 0 ? null : FormatETag(journal.ETag), null);
        }

        var properties = journal.Properties.Where(p => p.Key != FormatKeyProperty).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        return new JournalMetadata(journal.Properties.GetValueOrDefault(FormatKeyProperty), FormatETag(journal.ETag), properties);
    }

    private static string FormatETag(long eTag) => eTag.ToString(CultureInfo.InvariantCulture);

    // Logs what fences this activation or fails the operation, and lets the exception through to the state manager.
    private async Task<T> Guard<T>(string operation, Task<T> task)
    {
        try
        {
            return await task.ConfigureAwait(false);
        }
        catch (RaftJournalConflictException ex)
        {
            JournalingLog.Fenced(_logger, _journalId, operation, ex.ExpectedETag, ex.StoredETag);
            throw;
        }
        catch (Exception ex) when (ex is RaftGrainStorageException)
        {
            JournalingLog.OperationFailed(_logger, ex, _journalId, operation, ex.Message);
            throw;
        }
    }
}
