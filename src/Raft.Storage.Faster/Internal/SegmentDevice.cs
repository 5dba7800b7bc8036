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
// With direct writes (the default on Linux, FasterLogStoreOptions.DirectWrites), each segment is written through a
// second descriptor opened with O_DIRECT | O_DSYNC instead: a write is durable when it returns, bypassing the page
// cache, and there is nothing left for SyncDirty to do. Measured on this project's VMs, a durable 4 KiB append then
// costs 84 µs and 38 µs of CPU against 99-147 µs and 50-73 µs for pwrite + fdatasync (the page cache's writeback is
// most of the difference). Reads keep the buffered descriptor: Linux invalidates cached pages a direct write covers.
// A file system that refuses O_DIRECT (the open or the first write fails with EINVAL) gets buffered writes plus
// fdatasync for the device's lifetime; the first write decides, once, so the two are never mixed within the device,
// since a buffered write dirtying a page a direct write also covers can be written back over it.
// Thread-safety: FASTER writes and reads from several threads; _gate guards the handle table (reads and writes hold it
// shared, removal exclusively, so a segment is never deleted under a read in progress).
internal sealed unsafe class SegmentDevice : StorageDeviceBase
{
    private const int ZeroChunk = 1 << 20;

    // FASTER aligns every write's offset and length (and its page buffers) to the sector size the device declares.
    // Buffered writes need no alignment; O_DIRECT needs the file system's logical block size, 512 bytes on most disks
    // but 4 KiB on 4Kn disks, LUKS2 with 4 KiB sectors or XFS made so, where 512-aligned writes fail with EINVAL at
    // random (whenever one is not 4 KiB-aligned). So direct writes declare 4 KiB, which suits both; the sector size is
    // not part of the on-disk format (pages are 64 KiB or more).
    private const int BufferedSectorBytes = 512;
    private const int DirectSectorBytes = 4096;

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

    // Direct writes: the O_DIRECT | O_DSYNC descriptor of each segment written so far (guarded by _handles), how the
    // device writes (decided once, by its first write, under _decideLock), and the direct writes made.
    private readonly Dictionary<int, int> _directFds = [];
    private readonly Lock _decideLock = new();
    private readonly Func<string, bool, (int Fd, int Errno)> _openDirect;
    private volatile WriteMode _mode;
    private long _directWriteCount;
    private bool _disposed;

    // The durability primitive (NativeIo.FlushData); tests substitute one that fails.
    private readonly Action<SafeFileHandle, string> _flushData;

    // openDirect (path, dataSync) is a test seam standing in for NativeIo.OpenDirect (a test makes it fail as a file
    // system would).
    public SegmentDevice(
        string baseName,
        long segmentBytes,
        bool zeroFill,
        Action<SafeFileHandle, string>? flushData = null,
        bool directWrites = false,
        Func<string, bool, (int Fd, int Errno)>? openDirect = null)
        : base(baseName, directWrites && NativeIo.DirectWriteFlags != 0 ? (uint)DirectSectorBytes : BufferedSectorBytes, Devices.CAPACITY_UNSPECIFIED)
    {
        _flushData = flushData ?? NativeIo.FlushData;
        _mode = directWrites && NativeIo.DirectWriteFlags != 0 ? WriteMode.Undecided : WriteMode.Buffered;
        _openDirect = openDirect ?? ((path, dataSync) => (NativeIo.OpenDirect(path, dataSync, out var errno), errno));
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
                if (!TryWriteDirect(segmentId, sourceAddress, (long)destinationAddress, numBytesToWrite))
                {
                    RandomAccess.Write(handle, new ReadOnlySpan<byte>((void*)sourceAddress, (int)numBytesToWrite), (long)destinationAddress);
                    lock (_dirtyLock)
                    {
                        _dirty.Add(segmentId);
                    }
                }
            }
            finally
            {
                _gate.ExitReadLock();
            }
        }
        catch (Exception ex)
        {
            _failure ??= new IOException($"Writing {numBytesToWrite} bytes at offset {destinationAddress} of '{PathOf(segmentId)}' failed: {ex.Message}", ex);
            error = 1;
        }

        callback(error, error == 0 ? numBytesToWrite : 0, context);
    }

    // How the device writes: undecided until its first write, which tries a direct write and so settles it for good.
    private enum WriteMode
    {
        Undecided,
        Direct,
        Buffered,
    }

    // Whether writes go through O_DIRECT | O_DSYNC (false when not asked for, or once the file system refused them).
    public bool WritesDirect => _mode != WriteMode.Buffered;

    // The direct writes made since the device was created (tests and benchmarks).
    public long DirectWriteCount => Interlocked.Read(ref _directWriteCount);

    // Writes through the segment's O_DIRECT | O_DSYNC descriptor, durable on return; false when the device writes
    // buffered instead (then the caller writes through the page cache and marks the segment for SyncDirty). The first
    // write decides, under a lock that the writes racing it wait on, so the two ways never mix: a file system that
    // refuses O_DIRECT (EINVAL from the open or the write) makes the device buffered before any direct write landed,
    // and once one did, every later failure is the device's failure.
    private bool TryWriteDirect(int segment, IntPtr source, long offset, uint count)
    {
        if (_mode == WriteMode.Undecided)
        {
            lock (_decideLock)
            {
                if (_mode == WriteMode.Undecided)
                {
                    var direct = WriteDirect(segment, source, offset, count, deciding: true);
                    _mode = direct ? WriteMode.Direct : WriteMode.Buffered;
                    return direct;
                }
            }
        }

        return _mode == WriteMode.Direct && WriteDirect(segment, source, offset, count, deciding: false);
    }

    private bool WriteDirect(int segment, IntPtr source, long offset, uint count, bool deciding)
    {
        if (((offset | count) & (DirectSectorBytes - 1)) != 0)
        {
            throw new IOException(
                $"A write of {count} bytes at offset {offset} of '{PathOf(segment)}' is not aligned to {DirectSectorBytes} bytes, which direct writes need; " +
                "FASTER aligns its writes to the device's sector size, so this is a bug. Set FasterLogStoreOptions.DirectWrites to false to write through the page cache.");
        }

        int fd;
        lock (_handles)
        {
            if (!_directFds.TryGetValue(segment, out fd))
            {
                (fd, var errno) = _openDirect(PathOf(segment), true);
                if (fd < 0)
                {
                    if (deciding && errno == NativeIo.EINVAL)
                    {
                        // The file system does not do O_DIRECT: write through the page cache from now on.
                        return false;
                    }

                    throw new IOException($"Opening '{PathOf(segment)}' for direct writes (O_DIRECT | O_DSYNC) failed with errno {errno}.");
                }

                _directFds[segment] = fd;
            }
        }

        // O_DIRECT also needs the buffer aligned; FASTER's pages are, anything else goes through an aligned copy.
        void* bounce = null;
        var from = (byte*)source;
        if (((long)source & (DirectSectorBytes - 1)) != 0)
        {
            bounce = System.Runtime.InteropServices.NativeMemory.AlignedAlloc(count, DirectSectorBytes);
            Buffer.MemoryCopy(from, bounce, count, count);
            from = (byte*)bounce;
        }

        try
        {
            var errno = NativeIo.PWriteAll(fd, from, count, offset, out var written);
            if (deciding && errno == NativeIo.EINVAL && written == 0)
            {
                // The file system accepted the open but not the write; nothing was written.
                CloseDirect(segment);
                return false;
            }

            if (errno != 0)
            {
                throw new IOException($"Writing {count} bytes at offset {offset} of '{PathOf(segment)}' (O_DIRECT | O_DSYNC) failed with errno {errno}.");
            }
        }
        finally
        {
            if (bounce is not null)
            {
                System.Runtime.InteropServices.NativeMemory.AlignedFree(bounce);
            }
        }

        Interlocked.Increment(ref _directWriteCount);
        return true;
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

    // Makes the segments from..to durable, whoever wrote them (recovery: a process before this one may have written
    // without syncing). Only segments this device has open are synced; the recovery scan opened every one it read.
    public void SyncSegments(long from, long to)
    {
        lock (_dirtyLock)
        {
            for (var segment = from; segment <= to; segment++)
            {
                _dirty.Add((int)segment);
            }
        }

        SyncDirty();
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

            CloseDirect(segment);
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
            foreach (var segment in _directFds.Keys.ToList())
            {
                CloseDirect(segment);
            }
        }
        finally
        {
            _gate.ExitWriteLock();
        }
    }

    // Only when no write is using the descriptor: under the gate's write lock, or by the deciding write itself.
    private void CloseDirect(int segment)
    {
        lock (_handles)
        {
            if (_directFds.Remove(segment, out var fd))
            {
                NativeIo.CloseFd(fd);
            }
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

    // Writes a new segment's zeros through O_DIRECT when the device writes directly: through the page cache they cost a
    // copy of every byte and dirty 64 MiB that writeback then pushes out behind the appends (measured: about 3 % of a
    // loaded node's CPU samples). False when the file system refuses O_DIRECT for this file (EINVAL), so the caller
    // writes the zeros buffered instead; nothing else depends on how the zeros were written.
    private bool TryZeroFillDirect(string temp)
    {
        // Without O_DSYNC: one fdatasync after all the zeros (the caller's) rather than a durable write per chunk.
        var (fd, errno) = _openDirect(temp, false);
        if (fd < 0)
        {
            return errno == NativeIo.EINVAL ? false : throw new IOException($"Opening '{temp}' for direct writes failed with errno {errno}.");
        }

        var zeros = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc(ZeroChunk, DirectSectorBytes);
        try
        {
            System.Runtime.InteropServices.NativeMemory.Clear(zeros, ZeroChunk);
            for (long offset = 0; offset < _segmentBytes; offset += ZeroChunk)
            {
                errno = NativeIo.PWriteAll(fd, zeros, Math.Min(ZeroChunk, _segmentBytes - offset), offset, out var written);
                if (errno == NativeIo.EINVAL && offset + written == 0)
                {
                    return false;
                }

                if (errno != 0)
                {
                    throw new IOException($"Zero-filling '{temp}' (O_DIRECT) failed at offset {offset + written} with errno {errno}.");
                }
            }

            return true;
        }
        finally
        {
            System.Runtime.InteropServices.NativeMemory.AlignedFree(zeros);
            NativeIo.CloseFd(fd);
        }
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
                if (!(_mode != WriteMode.Buffered && TryZeroFillDirect(temp)))
                {
                    var zeros = new byte[ZeroChunk];
                    for (long offset = 0; offset < _segmentBytes; offset += ZeroChunk)
                    {
                        RandomAccess.Write(handle, zeros.AsSpan(0, (int)Math.Min(ZeroChunk, _segmentBytes - offset)), offset);
                    }
                }

                // Also after direct writes: they leave the file's size and block allocation to commit, and the disk's cache.
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
