using System.Collections.Concurrent;
using FASTER.core;
using Microsoft.Win32.SafeHandles;

namespace Raft.Storage.Faster.Internal;

// The FASTER device under the log: one file per segment ("<base>.<n>"), plain pwrite into files that were
// preallocated (zero-filled in the background ahead of need, so that a write never grows a file or converts extents
// and fdatasync has no metadata to commit), and no O_SYNC: durability comes from SyncDirty, which the store's append
// calls once its batch is written (and the commit manager for a FasterLog commit outside an append: compaction, reset,
// close).
// This makes one durable append cost one fdatasync, where FASTER's own device costs an O_SYNC write plus a metadata
// file per commit.
// Thread-safety: FASTER writes and reads from several threads; _gate guards the handle table (reads and writes hold it
// shared, removal exclusively, so a segment is never deleted under a read in progress).
internal sealed unsafe class SegmentDevice : StorageDeviceBase
{
    private const int ZeroChunk = 1 << 20;

    private readonly string _baseName;
    private readonly long _segmentBytes;
    private readonly bool _zeroFill;
    private readonly ReaderWriterLockSlim _gate = new(LockRecursionPolicy.SupportsRecursion);
    private readonly Dictionary<int, SafeFileHandle> _handles = [];
    private readonly ConcurrentDictionary<int, Task> _preparing = new();
    private readonly Lock _dirtyLock = new();
    private readonly Lock _syncLock = new();
    private HashSet<int> _dirty = [];
    private long _syncCount;
    private volatile Exception? _failure;
    private volatile bool _keepSegments;
    private bool _disposed;

    // The durability primitive (NativeIo.FlushData); tests substitute one that fails.
    private readonly Action<SafeFileHandle, string> _flushData;

    public SegmentDevice(string baseName, long segmentBytes, bool zeroFill, Action<SafeFileHandle, string>? flushData = null)
        : base(baseName, 512, Devices.CAPACITY_UNSPECIFIED)
    {
        _flushData = flushData ?? NativeIo.FlushData;
        _baseName = baseName;
        _segmentBytes = segmentBytes;
        _zeroFill = zeroFill;
        foreach (var stale in Directory.EnumerateFiles(Path.GetDirectoryName(baseName)!, Path.GetFileName(baseName) + ".*.prep"))
        {
            File.Delete(stale);
        }
    }

    // The first I/O failure; FASTER turns it into a failed commit, and the store reports it.
    public Exception? Failure => _failure;

    public static string SegmentPath(string baseName, long segment) => $"{baseName}.{segment}";

    public string PathOf(long segment) => SegmentPath(_baseName, segment);

    public override void WriteAsync(IntPtr sourceAddress, int segmentId, ulong destinationAddress, uint numBytesToWrite, DeviceIOCompletionCallback callback, object context)
    {
        uint error = 0;
        try
        {
            _gate.EnterReadLock();
            try
            {
                var handle = GetForWrite(segmentId);
                RandomAccess.Write(handle, new ReadOnlySpan<byte>((void*)sourceAddress, (int)numBytesToWrite), (long)destinationAddress);
            }
            finally
            {
                _gate.ExitReadLock();
            }

            lock (_dirtyLock)
            {
                _dirty.Add(segmentId);
            }
        }
        catch (Exception ex)
        {
            _failure ??= new IOException($"Writing {numBytesToWrite} bytes at offset {destinationAddress} of '{PathOf(segmentId)}' failed: {ex.Message}", ex);
            error = 1;
        }

        callback(error, error == 0 ? numBytesToWrite : 0, context);
    }

    public override void ReadAsync(int segmentId, ulong sourceAddress, IntPtr destinationAddress, uint readLength, DeviceIOCompletionCallback callback, object context)
    {
        uint error = 0;
        try
        {
            var span = new Span<byte>((void*)destinationAddress, (int)readLength);
            var read = Read(segmentId, (long)sourceAddress, span);
            span[read..].Clear();
        }
        catch (Exception ex)
        {
            _failure ??= ex;
            error = 1;
        }

        callback(error, error == 0 ? readLength : 0, context);
    }

    // Reads what the segment holds at offset into buffer; returns the bytes read (fewer at the end of the file, 0 when
    // the segment does not exist).
    public int Read(long segment, long offset, Span<byte> buffer)
    {
        _gate.EnterReadLock();
        try
        {
            var handle = GetForRead((int)segment);
            if (handle is null)
            {
                return 0;
            }

            var total = 0;
            while (total < buffer.Length)
            {
                var n = RandomAccess.Read(handle, buffer[total..], offset + total);
                if (n == 0)
                {
                    break;
                }

                total += n;
            }

            return total;
        }
        finally
        {
            _gate.ExitReadLock();
        }
    }

    // Whether the segment file exists (recovery checks for files beyond the log).
    public bool Exists(long segment) => File.Exists(PathOf(segment));

    // Whether a segment was written since a SyncDirty last took the set of written ones (tests).
    public bool HasUnsyncedWrites
    {
        get
        {
            lock (_dirtyLock)
            {
                return _dirty.Count > 0;
            }
        }
    }

    // The fdatasyncs made since the device was created (tests and benchmarks).
    public long SyncCount => Interlocked.Read(ref _syncCount);

    // Makes every write that completed before the call durable: one fdatasync per segment written since the last call.
    // Callers are serialized through the fdatasync: the store's append and FasterLog's commit worker both call this, and
    // a caller that finds nothing dirty because the other took the set must not return while that fdatasync still runs.
    // A failed write or fdatasync is final: it is recorded before the lock is released and every later call throws.
    // Never retried: after a failed fdatasync the kernel may have dropped the dirty pages, and a second fdatasync would
    // report success for data that is gone (so the other caller must not get to retry it).
    public void SyncDirty()
    {
        lock (_syncLock)
        {
            if (_failure is { } failed)
            {
                throw new IOException($"The log device failed earlier and accepts no more syncs: {failed.Message}", failed);
            }

            HashSet<int> dirty;
            lock (_dirtyLock)
            {
                if (_dirty.Count == 0)
                {
                    return;
                }

                dirty = _dirty;
                _dirty = [];
            }

            _gate.EnterReadLock();
            try
            {
                foreach (var segment in dirty.Order())
                {
                    if (_handles.TryGetValue(segment, out var handle))
                    {
                        _flushData(handle, PathOf(segment));
                        Interlocked.Increment(ref _syncCount);
                    }
                }
            }
            catch (Exception ex)
            {
                _failure ??= ex as IOException ?? new IOException($"Syncing the log's segment files failed: {ex.Message}", ex);
                throw;
            }
            finally
            {
                _gate.ExitReadLock();
            }
        }
    }

    public override void RemoveSegmentAsync(int segment, AsyncCallback callback, IAsyncResult result)
    {
        RemoveSegment(segment);
        callback(result);
    }

    // FasterLog deletes the segments below a new begin address right after its commit hook returns, whether or not the
    // hook managed to sync the data and write the metadata naming that address. After a failure the metadata may still
    // name the old begin address, so the segments stay (the next open deletes what is below the begin it finds).
    public void KeepSegments() => _keepSegments = true;

    public override void RemoveSegment(int segment)
    {
        if (_keepSegments || _failure is not null)
        {
            return;
        }

        _gate.EnterWriteLock();
        try
        {
            if (_handles.Remove(segment, out var handle))
            {
                handle.Dispose();
            }

            File.Delete(PathOf(segment));
        }
        catch (IOException)
        {
            // Best effort: a segment left behind below the begin address is deleted by the next open.
        }
        finally
        {
            _gate.ExitWriteLock();
        }
    }

    public override void Dispose()
    {
        foreach (var task in _preparing.Values)
        {
            try
            {
                task.Wait();
            }
            catch (AggregateException)
            {
                // A failed preparation only means the segment is created on demand.
            }
        }

        _gate.EnterWriteLock();
        try
        {
            _disposed = true;
            foreach (var handle in _handles.Values)
            {
                handle.Dispose();
            }

            _handles.Clear();
        }
        finally
        {
            _gate.ExitWriteLock();
        }
    }

    private SafeFileHandle? GetForRead(int segment)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        lock (_handles)
        {
            if (_handles.TryGetValue(segment, out var handle))
            {
                return handle;
            }

            var path = PathOf(segment);
            if (!File.Exists(path))
            {
                return null;
            }

            handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
            _handles[segment] = handle;
            return handle;
        }
    }

    private SafeFileHandle GetForWrite(int segment)
    {
        while (true)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_preparing.TryGetValue(segment, out var preparing))
            {
                // Rare: the log outran the background preallocation; wait rather than race it for the file.
                try
                {
                    preparing.Wait();
                }
                catch (AggregateException)
                {
                    // Created below instead.
                }

                continue;
            }

            lock (_handles)
            {
                if (_handles.TryGetValue(segment, out var handle))
                {
                    return handle;
                }

                // PrepareAhead registers under this lock, so this check is final.
                if (_preparing.ContainsKey(segment))
                {
                    continue;
                }

                var path = PathOf(segment);
                var created = !File.Exists(path);
                handle = created
                    ? File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, FileOptions.None, preallocationSize: _segmentBytes)
                    : File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read);
                if (created)
                {
                    // The new directory entry must be durable before anything in the file is relied on.
                    NativeIo.FlushDirectory(Path.GetDirectoryName(path)!);
                }

                _handles[segment] = handle;
                PrepareAhead(segment + 1);
                return handle;
            }
        }
    }

    // Zero-fills `segment` now when it does not exist yet (the log's tail segment at open), so that the first appends
    // write into allocated blocks too.
    public void PrepareNow(int segment)
    {
        if (_zeroFill && !File.Exists(PathOf(segment)))
        {
            ZeroFill(segment);
        }
    }

    // Zero-fills the next segment in the background.
    private void PrepareAhead(int segment)
    {
        if (!_zeroFill || _handles.ContainsKey(segment) || File.Exists(PathOf(segment)) || _preparing.ContainsKey(segment))
        {
            return;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _preparing[segment] = done.Task;
        _ = Task.Run(() =>
        {
            try
            {
                ZeroFill(segment);
            }
            catch (Exception)
            {
                // The segment is created on demand instead.
            }
            finally
            {
                // Unregister before signalling, so a writer that waited finds the file in place.
                _preparing.TryRemove(segment, out _);
                done.SetResult();
            }
        });
    }

    // Writes the segment's zeros under a temporary name, syncs it, and renames it into place (never over a file).
    private void ZeroFill(int segment)
    {
        var path = PathOf(segment);
        var temp = path + ".prep";
        try
        {
            using (var handle = File.OpenHandle(temp, FileMode.Create, FileAccess.ReadWrite, FileShare.None))
            {
                var zeros = new byte[ZeroChunk];
                for (long offset = 0; offset < _segmentBytes; offset += ZeroChunk)
                {
                    RandomAccess.Write(handle, zeros.AsSpan(0, (int)Math.Min(ZeroChunk, _segmentBytes - offset)), offset);
                }

                NativeIo.FlushData(handle, temp);
            }

            File.Move(temp, path, overwrite: false);
            NativeIo.FlushDirectory(Path.GetDirectoryName(path)!);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }
}
