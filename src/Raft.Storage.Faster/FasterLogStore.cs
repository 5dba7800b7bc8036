using System.Buffers;
using System.Buffers.Binary;
using FASTER.core;
using Microsoft.Extensions.Logging;
using Raft.Core.Messages;
using Raft.Core.Storage;
using Raft.Storage.Faster.Internal;

namespace Raft.Storage.Faster;

/// <summary>
/// A durable, crash-safe <see cref="ILogStore"/> on Microsoft FASTER's <c>FasterLog</c>: every append is one group
/// commit (one fdatasync for the whole batch), suffix replacement is logical (a truncation record in the same batch as
/// the new entries), compaction deletes whole segments, and recovery verifies every record by checksum.
/// </summary>
/// <remarks>
/// <para>
/// Open with <see cref="OpenAsync"/>. The directory is locked for the lifetime of the store; a second opener fails with
/// an <see cref="IOException"/>. The on-disk format is described in docs/storage-format.md.
/// </para>
/// <para>
/// Contract: as <see cref="ILogStore"/>. <see cref="AppendAsync"/>, <see cref="CompactAsync"/> and
/// <see cref="ResetAsync"/> are serialized with each other; reads run concurrently with them and see an append only
/// once it is durable. Recently appended entries (up to <see cref="FasterLogStoreOptions.CacheSize"/> bytes) are served
/// from memory; older ones are read from the segment files (normally from the OS page cache).
/// </para>
/// <para>
/// Failure: an I/O failure while making data durable stops the store: that call and every later one throw
/// <see cref="IOException"/>, because the durable state of the last append is unknown. Reopen the store (restart the
/// node) to recover from what is on disk. Recovery refuses to open a log whose committed part fails verification and
/// throws <see cref="LogCorruptedException"/> naming the file and offset.
/// </para>
/// </remarks>
public sealed partial class FasterLogStore : ILogStore, IAsyncDisposable, IDisposable
{
    private readonly FasterLogStoreOptions _options;
    private readonly ILogger _logger;
    private readonly DirectoryLock _directoryLock;
    private readonly MetadataFile _metadata;
    private readonly SegmentDevice _device;
    private readonly SlotCommitManager _commitManager;
    private readonly FasterLog _log;
    private readonly int _epoch;
    private readonly long _pageSize;
    private readonly int _segmentBits;

    // Serializes appends, compactions and resets (the single writer).
    private readonly SemaphoreSlim _writeGate = new(1, 1);

    // Guards _table and the cache accounting; held only for in-memory work, never across I/O.
    private readonly Lock _tableLock = new();

    // Invariant: _table holds exactly the durable live entries [FirstIndex, LastIndex]; entries in
    // [_cacheStart, LastIndex] may have Cached set, none before, and _cachedBytes is the sum of their payload sizes.
    private readonly SlotTable _table;
    private long _cacheStart;
    private long _cachedBytes;

    private volatile Exception? _failure;
    private int _disposed;

    private FasterLogStore(
        FasterLogStoreOptions options,
        ILogger logger,
        DirectoryLock directoryLock,
        MetadataFile metadata,
        SegmentDevice device,
        SlotCommitManager commitManager,
        FasterLog log,
        SlotTable table,
        int epoch)
    {
        _options = options;
        _logger = logger;
        _directoryLock = directoryLock;
        _metadata = metadata;
        _device = device;
        _commitManager = commitManager;
        _log = log;
        _table = table;
        _epoch = epoch;
        _pageSize = options.PageSize;
        _segmentBits = Log2(options.SegmentSize);
        _cacheStart = table.Last + 1;
    }

    /// <summary>The directory holding this log.</summary>
    public string Directory => _options.Directory;

    /// <summary>The largest entry payload this store accepts, in bytes (see <see cref="FasterLogStoreOptions.PageSize"/>).</summary>
    public int MaxEntrySize => _options.MaxEntrySize;

    /// <inheritdoc />
    public long FirstIndex
    {
        get
        {
            lock (_tableLock)
            {
                return _table.First;
            }
        }
    }

    /// <inheritdoc />
    public long LastIndex
    {
        get
        {
            lock (_tableLock)
            {
                return _table.Last;
            }
        }
    }

    // For tests and benchmarks: data fdatasyncs and metadata-slot writes done since open.
    internal long SyncCount => _device.SyncCount;

    // The direct writes made, and whether writes still go that way (tests and benchmarks).
    internal long DirectWriteCount => _device.DirectWriteCount;

    internal bool WritesDirect => _device.WritesDirect;

    internal long MetadataWriteCount => _commitManager.MetadataWriteCount;

    internal bool HasUnsyncedWrites => _device.HasUnsyncedWrites;

    internal long DurableUntil => _commitManager.DurableUntil;

    /// <inheritdoc />
    /// <exception cref="LogCorruptedException">A record read from disk fails its checksum.</exception>
    /// <exception cref="ObjectDisposedException">The store was disposed.</exception>
    public ValueTask<IReadOnlyList<Entry>> ReadAsync(long fromIndex, long toIndexInclusive, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        Slot[] slots;
        lock (_tableLock)
        {
            if (fromIndex < _table.First || toIndexInclusive > _table.Last || fromIndex > toIndexInclusive + 1)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(fromIndex),
                    $"Cannot read [{fromIndex}, {toIndexInclusive}]: the log holds [{_table.First}, {_table.Last}].");
            }

            slots = new Slot[toIndexInclusive - fromIndex + 1];
            for (var i = 0; i < slots.Length; i++)
            {
                slots[i] = _table[fromIndex + i];
            }
        }

        var result = new Entry[slots.Length];
        byte[]? buffer = null;
        long bufferAddress = -1;
        var bufferLength = 0;

        // Records lie in index order, so the range ends with the last slot's record.
        var rangeEnd = slots.Length == 0 ? 0 : slots[^1].Address + 4 + slots[^1].Length;
        try
        {
            for (var i = 0; i < slots.Length; i++)
            {
                if (slots[i].Cached is { } cached)
                {
                    result[i] = cached;
                    continue;
                }

                var address = slots[i].Address;
                var size = 4 + slots[i].Length;
                if (buffer is null || address < bufferAddress || address + size > bufferAddress + bufferLength)
                {
                    // Read ahead from this record towards the end of the range, within its page and at most 1 MiB: the
                    // next records follow it. The buffer is pooled; decoding copies each payload out of it.
                    var pageEnd = (address | (_pageSize - 1)) + 1;
                    var want = (int)Math.Max(size, Math.Min(Math.Min(pageEnd, rangeEnd) - address, 1 << 20));
                    if (buffer is null || buffer.Length < want)
                    {
                        if (buffer is not null)
                        {
                            ArrayPool<byte>.Shared.Return(buffer);
                        }

                        buffer = ArrayPool<byte>.Shared.Rent(want);
                    }

                    bufferAddress = address;
                    bufferLength = _device.Read(address >> _segmentBits, SegmentOffset(address), buffer.AsSpan(0, want));
                }

                result[i] = DecodeEntry(buffer.AsSpan((int)(address - bufferAddress), Math.Min(size, Math.Max(0, bufferLength - (int)(address - bufferAddress)))), fromIndex + i, address);
            }
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }

        return ValueTask.FromResult<IReadOnlyList<Entry>>(result);
    }

    /// <summary>Makes the durable end of the log the verified end, closes the files and releases the directory lock.</summary>
    /// <returns>A task that completes once the store is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _writeGate.WaitAsync().ConfigureAwait(false);
        await FinishFasterCommitAsync().ConfigureAwait(false);
        Close();
    }

    /// <summary>As <see cref="DisposeAsync"/>, blocking.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _writeGate.Wait();
        FinishFasterCommit();
        Close();
    }

    // For tests: closes the files without writing the final durable point, as a crash would leave them.
    internal void CloseWithoutCheckpoint()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _writeGate.Wait();
            FinishFasterCommit();
            Close(checkpoint: false);
        }
    }

    // For tests: where the record of entry `index` is (file and offset in it).
    internal (string Path, long Offset) LocationOf(long index)
    {
        lock (_tableLock)
        {
            var address = _table[index].Address;
            return (_device.PathOf(address >> _segmentBits), SegmentOffset(address));
        }
    }

    // Appends made themselves durable without waiting for FasterLog's commit; that commit must finish before the files
    // close under it. A failure there stops the store (no checkpoint in Close), not the close. Nothing after a failure.
    private async ValueTask FinishFasterCommitAsync()
    {
        if (_failure is not null)
        {
            return;
        }

        try
        {
            await _log.CommitAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _ = Fail(_device.Failure ?? _commitManager.Failure ?? ex);
        }
    }

    // For the blocking closes (Dispose, and the tests' crash-like close).
    private void FinishFasterCommit() => FinishFasterCommitAsync().AsTask().GetAwaiter().GetResult();

    // Called once FasterLog's commit finished (or the store failed): writes the final durable point and closes.
    private void Close(bool checkpoint = true)
    {
        try
        {
            if (checkpoint && _failure is null)
            {
                _commitManager.Checkpoint();
            }
        }
        finally
        {
            _log.Dispose();
            _device.Dispose();
            _metadata.Dispose();
            _directoryLock.Dispose();

            // Released, not disposed: an append, compaction or reset already waiting for the gate then enters and throws
            // ObjectDisposedException; a disposed SemaphoreSlim would leave its waiters waiting forever.
            _writeGate.Release();
        }
    }

    private long SegmentOffset(long address) => address & ((1L << _segmentBits) - 1);

    private Entry DecodeEntry(ReadOnlySpan<byte> bytes, long index, long address)
    {
        string? problem = null;
        RecordHeader header = default;
        if (bytes.Length < 4 + LogRecord.HeaderSize)
        {
            problem = "the record is missing (file shorter than expected)";
        }
        else
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(bytes);
            problem = length != bytes.Length - 4
                ? $"record length {length} differs from the {bytes.Length - 4} recorded at append"
                : LogRecord.TryParse(bytes[4..], out header);
            if (problem is null && (header.Kind != RecordKind.Entry || header.Index != index))
            {
                problem = $"expected entry {index} but found a {header.Kind} record for index {header.Index}";
            }
        }

        if (problem is not null)
        {
            lock (_tableLock)
            {
                // Compaction and reset drop entries from the table before their segments go; a reset drops every entry,
                // and a later append may reuse the index at another address.
                if (index < _table.First || index > _table.Last || _table[index].Address != address)
                {
                    throw new ArgumentOutOfRangeException(nameof(index), $"Entry {index} was discarded (compacted or reset) while it was being read; the log now holds [{_table.First}, {_table.Last}].");
                }
            }

            throw new LogCorruptedException(_device.PathOf(address >> _segmentBits), SegmentOffset(address), $"Entry {index} cannot be read: {problem}");
        }

        return new Entry(index, header.Term, header.Type, bytes.Slice(4 + LogRecord.HeaderSize, header.PayloadLength).ToArray());
    }

    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_failure is { } failure)
        {
            throw new IOException($"The Raft log in '{Directory}' failed earlier and is stopped; reopen it to recover from what is on disk.", failure);
        }
    }

    private static int Log2(long powerOfTwo) => System.Numerics.BitOperations.Log2((ulong)powerOfTwo);
}
