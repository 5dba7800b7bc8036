using System.Diagnostics;
using Raft.Core.Messages;
using Raft.Storage.Faster.Internal;

namespace Raft.Storage.Faster;

public sealed partial class FasterLogStore
{
    /// <inheritdoc />
    /// <remarks>
    /// One group commit: a truncation record (when the batch replaces a suffix) and one record per entry are enqueued,
    /// then one flush and one fdatasync make them durable together; recovery applies a batch only if its last record
    /// is intact, so the replacement is atomic. The cancellation token is honoured only before the append starts.
    /// </remarks>
    /// <exception cref="ArgumentException">The entries are not consecutive, leave a hole, start before
    /// <see cref="FirstIndex"/>, decrease in term, or one is larger than <see cref="MaxEntrySize"/>.</exception>
    /// <exception cref="IOException">The append could not be made durable; the store is stopped.</exception>
    public async ValueTask AppendAsync(IReadOnlyList<Entry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        cancellationToken.ThrowIfCancellationRequested();
        if (entries.Count == 0)
        {
            return;
        }

        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        _commitManager.AppendSyncs = true;
        try
        {
            ThrowIfUnusable();
            var started = Stopwatch.GetTimestamp();
            var replaces = Validate(entries);
            var offset = replaces ? 1 : 0;
            var records = new LogRecord[entries.Count + offset];
            if (replaces)
            {
                records[0] = new LogRecord(RecordKind.Truncate, RecordFlags.None, EntryType.Normal, _epoch, entries[0].Index, 0, default);
            }

            for (var i = 0; i < entries.Count; i++)
            {
                var entry = entries[i];
                records[i + offset] = new LogRecord(
                    RecordKind.Entry, i == entries.Count - 1 ? RecordFlags.EndOfBatch : RecordFlags.None, entry.Type, _epoch, entry.Index, entry.Term, entry.Data);
            }

            var addresses = await EnqueueAsync(records).ConfigureAwait(false);
            var slots = new Slot[entries.Count];
            for (var i = 0; i < entries.Count; i++)
            {
                slots[i] = new Slot { Address = addresses[i + offset], Term = entries[i].Term, Length = records[i + offset].SerializedLength, Cached = entries[i] };
            }

            var end = addresses[^1] + Framed(records[^1].SerializedLength);
            if (!_options.CommitOnCallerThread || !TryCommitOnThisThread(end))
            {
                await CommitAsync().ConfigureAwait(false);
                SyncOnThisThread(end);
            }

            Publish(entries[0].Index, slots);
            StorageMetrics.AppendDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            StorageMetrics.AppendedEntries.Add(entries.Count);
        }
        finally
        {
            _commitManager.AppendSyncs = false;
            _writeGate.Release();
        }
    }

    /// <summary>
    /// Lets the log discard the entries up to <paramref name="throughIndex"/>, which a durable snapshot covers. The
    /// disk space is returned a whole segment at a time; <see cref="FirstIndex"/> moves to the first entry kept, and at
    /// least the last entry is always kept, so the log never forgets its <see cref="LastIndex"/>. Never discards entries
    /// after <paramref name="throughIndex"/>.
    /// </summary>
    /// <param name="throughIndex">The last index covered by a durable snapshot.</param>
    /// <param name="cancellationToken">Honoured only before the compaction starts.</param>
    /// <returns>A task that completes when the new start of the log is durable.</returns>
    /// <exception cref="IOException">The new start could not be made durable; the store is stopped.</exception>
    public async ValueTask CompactAsync(long throughIndex, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfUnusable();
            long keep;
            long address;
            lock (_tableLock)
            {
                keep = Math.Min(throughIndex + 1, _table.Last);
                if (keep <= _table.First)
                {
                    return;
                }

                address = _table[keep].Address;

                // Readers stop asking for the dropped entries before their segments go.
                EvictCacheBefore(keep);
                _table.RemovePrefix(keep);
            }

            _log.TruncateUntil(address);
            await CommitAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>
    /// Discards the whole log, durably: afterwards <see cref="FirstIndex"/> is <paramref name="snapshotIndex"/> + 1,
    /// <see cref="LastIndex"/> is <paramref name="snapshotIndex"/>, and the next append starts at
    /// <paramref name="snapshotIndex"/> + 1 (a follower installing a snapshot).
    /// </summary>
    /// <param name="snapshotIndex">The last index of the installed snapshot; 0 or more.</param>
    /// <param name="cancellationToken">Honoured only before the reset starts.</param>
    /// <returns>A task that completes when the reset is durable.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="snapshotIndex"/> is negative.</exception>
    /// <exception cref="IOException">The reset could not be made durable; the store is stopped.</exception>
    public async ValueTask ResetAsync(long snapshotIndex, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(snapshotIndex);
        cancellationToken.ThrowIfCancellationRequested();
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfUnusable();
            var address = await EnqueueAsync(new LogRecord(RecordKind.Reset, RecordFlags.EndOfBatch, EntryType.Normal, _epoch, snapshotIndex, 0, default)).ConfigureAwait(false);

            // Readers stop asking for the discarded entries before their segments go: FasterLog deletes them inside
            // its commit, before the commit's task completes.
            lock (_tableLock)
            {
                _table.Reset(snapshotIndex + 1);
                _cacheStart = snapshotIndex + 1;
                _cachedBytes = 0;
            }

            // The begin address moves to the reset record itself, in the same commit: the data is synced first, then
            // the metadata, then FasterLog deletes the old segments.
            _log.TruncateUntil(address);
            await CommitAsync().ConfigureAwait(false);
        }
        finally
        {
            _writeGate.Release();
        }
    }

    // Checks the batch against the log before anything is written; returns whether it replaces a suffix.
    private bool Validate(IReadOnlyList<Entry> entries)
    {
        long first, last, previousTerm = -1;
        lock (_tableLock)
        {
            first = _table.First;
            last = _table.Last;
            var start = entries[0]?.Index ?? 0;
            if (start > first && start - 1 <= last)
            {
                previousTerm = _table[start - 1].Term;
            }
        }

        var head = entries[0] ?? throw new ArgumentException("Entries must not contain null.", nameof(entries));
        if (head.Index < 1 || head.Index > last + 1)
        {
            throw new ArgumentException(
                $"The first entry's index {head.Index} would leave a hole: the log holds [{first}, {last}], so it must be in [{first}, {last + 1}].",
                nameof(entries));
        }

        if (head.Index < first)
        {
            throw new ArgumentException(
                $"The first entry's index {head.Index} is before the start of the log ({first}): entries up to {first - 1} were compacted into a snapshot and cannot be replaced.",
                nameof(entries));
        }

        if (head.Term < previousTerm)
        {
            throw new ArgumentException(
                $"Entry {head.Index} has term {head.Term}, lower than the term {previousTerm} of the entry before it; terms never decrease along the log.",
                nameof(entries));
        }

        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i] ?? throw new ArgumentException("Entries must not contain null.", nameof(entries));
            if (entry.Data.Length > MaxEntrySize)
            {
                throw new ArgumentException(
                    $"Entry {entry.Index} is {entry.Data.Length} bytes; this log stores entries of at most {MaxEntrySize} bytes (FasterLogStoreOptions.PageSize {_options.PageSize} minus {FasterLogStoreOptions.RecordOverhead} bytes of headers). Raise PageSize (a power of two) or split the command.",
                    nameof(entries));
            }

            if (i > 0)
            {
                var previous = entries[i - 1];
                if (entry.Index != previous.Index + 1)
                {
                    throw new ArgumentException($"Entries are not consecutive: index {entry.Index} follows {previous.Index}.", nameof(entries));
                }

                if (entry.Term < previous.Term)
                {
                    throw new ArgumentException(
                        $"Entry {entry.Index} has term {entry.Term}, lower than the term {previous.Term} of entry {previous.Index}; terms never decrease along the log.",
                        nameof(entries));
                }
            }
        }

        return head.Index <= last;
    }

    // Enqueues the records in as few FasterLog allocations as possible (runs that fit in half a page; FasterLog
    // places a run contiguously, each record after its 4-byte length, padded to 4 bytes) and returns their addresses.
    private async ValueTask<long[]> EnqueueAsync(LogRecord[] records)
    {
        var addresses = new long[records.Length];
        var budget = _pageSize / 2;
        for (var start = 0; start < records.Length;)
        {
            var end = start;
            long size = 0;
            while (end < records.Length && (end == start || size + 4 + records[end].SerializedLength <= budget))
            {
                size += Framed(records[end].SerializedLength);
                end++;
            }

            long address;
            if (end - start == 1)
            {
                address = await EnqueueAsync(records[start]).ConfigureAwait(false);
            }
            else
            {
                var run = new ArraySegment<LogRecord>(records, start, end - start);
                try
                {
                    address = _log.TryEnqueue(run, out var enqueued)
                        ? enqueued
                        : await _log.EnqueueAsync(run, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    throw Fail(ex);
                }
            }

            for (var i = start; i < end; i++)
            {
                addresses[i] = address;
                address += Framed(records[i].SerializedLength);
            }

            start = end;
        }

        return addresses;
    }

    // The bytes a record of `length` bytes takes in FasterLog: its 4-byte length in front, padded to 4 bytes.
    private static long Framed(int length) => 4 + ((length + 3) & ~3);

    private ValueTask<long> EnqueueAsync(LogRecord record)
    {
        try
        {
            return _log.TryEnqueue(record, out var address)
                ? ValueTask.FromResult(address)
                : _log.EnqueueAsync(record, CancellationToken.None); // the page ring is full: wait for a flush
        }
        catch (Exception ex)
        {
            throw Fail(ex);
        }
    }

    // The common case of an append: asks FasterLog to commit and, when that wrote the pages through `end` before
    // returning (our device writes synchronously, so it does unless another thread holds FasterLog's epoch), makes
    // them durable with the device's fdatasync right here. Returns false when the pages are not written yet; the caller
    // then waits for FasterLog's commit as usual. Why: FasterLog runs its commit hook (our fdatasync) as a thread-pool
    // work item and completes its commit task asynchronously again, so awaiting CommitAsync costs two thread-pool hops
    // per append, each a wake-up and a queueing delay on a busy node (docs/benchmarks.md, session 8). FasterLog's own
    // commit hook still runs, on a pool thread, usually while this thread's fdatasync does; during an append it leaves
    // the sync to the append (SlotCommitManager.AppendSyncs) instead of waiting for it.
    private bool TryCommitOnThisThread(long end)
    {
        try
        {
            _log.Commit(spinWait: false);
            if (_log.FlushedUntilAddress < end)
            {
                return false;
            }
        }
        catch (Exception ex)
        {
            throw Fail(_device.Failure ?? ex);
        }

        SyncOnThisThread(end);
        return true;
    }

    // Makes every page written so far durable (one fdatasync per dirty segment; nothing when FasterLog's commit hook
    // synced them already) and moves the durable point to `end`. After FasterLog's commit too: a hook that ran during
    // this append left the sync to it, and FasterLog counts that commit as done all the same.
    private void SyncOnThisThread(long end)
    {
        try
        {
            _device.SyncDirty();
        }
        catch (Exception ex)
        {
            throw Fail(_device.Failure ?? ex);
        }

        if ((_device.Failure ?? _commitManager.Failure) is { } failure)
        {
            throw Fail(failure);
        }

        _commitManager.MarkDurable(end);
    }

    // Flushes what was enqueued and waits until it is durable (the commit manager's fdatasync).
    private async ValueTask CommitAsync()
    {
        try
        {
            await _log.CommitAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            throw Fail(_device.Failure ?? _commitManager.Failure ?? ex);
        }

        if ((_commitManager.Failure ?? _device.Failure) is { } failure)
        {
            throw Fail(failure);
        }
    }

    private IOException Fail(Exception cause)
    {
        var failure = new IOException(
            $"The Raft log in '{Directory}' could not make an append durable ({cause.Message}); the store is stopped and the state of the last append is unknown. Reopen the store to recover from what is on disk.",
            cause);
        if (Interlocked.CompareExchange(ref _failure, failure, null) is null)
        {
            Log.LogFailed(_logger, cause, Directory);
        }

        return failure;
    }

    // Makes a durable batch visible: drops the replaced suffix, appends the new slots, keeps the cache within budget.
    private void Publish(long firstIndex, Slot[] slots)
    {
        lock (_tableLock)
        {
            if (firstIndex <= _table.Last)
            {
                for (var i = Math.Max(firstIndex, _cacheStart); i <= _table.Last; i++)
                {
                    _cachedBytes -= _table[i].Cached?.Data.Length ?? 0;
                }

                _table.TruncateFrom(firstIndex);
                _cacheStart = Math.Min(_cacheStart, firstIndex);
            }

            foreach (var slot in slots)
            {
                var kept = slot;
                if (_options.CacheSize == 0)
                {
                    kept.Cached = null;
                }
                else
                {
                    _cachedBytes += slot.Cached!.Data.Length;
                }

                _table.Add(kept);
            }

            if (_options.CacheSize == 0)
            {
                _cacheStart = _table.Last + 1;
                return;
            }

            while (_cachedBytes > _options.CacheSize && _cacheStart <= _table.Last)
            {
                ref var evicted = ref _table[_cacheStart];
                _cachedBytes -= evicted.Cached?.Data.Length ?? 0;
                evicted.Cached = null;
                _cacheStart++;
            }

            Debug.Assert(_cachedBytes >= 0, "cache accounting went negative");
        }
    }

    private void EvictCacheBefore(long index)
    {
        for (var i = Math.Max(_cacheStart, _table.First); i < index && i <= _table.Last; i++)
        {
            _cachedBytes -= _table[i].Cached?.Data.Length ?? 0;
        }

        _cacheStart = Math.Max(_cacheStart, index);
    }
}
