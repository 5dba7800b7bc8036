using System.Numerics;

namespace Raft.Storage.Faster;

/// <summary>Configuration of a <see cref="FasterLogStore"/>.</summary>
/// <remarks>
/// <see cref="Validate"/> runs when the store opens; its messages name the setting and say what to fix. The page and
/// segment sizes are part of the on-disk format: reopening a log with different ones is refused.
/// </remarks>
public sealed record FasterLogStoreOptions
{
    /// <summary>The record header the store adds to each entry, plus FasterLog's own length prefix.</summary>
    internal const int RecordOverhead = Internal.LogRecord.HeaderSize + 4;

    /// <summary>The directory holding the log's files; created when missing. One log per directory (it is locked).</summary>
    public required string Directory { get; init; }

    /// <summary>
    /// FasterLog's page size in bytes, a power of two from 64 KiB to 1 GiB; defaults to 4 MiB. A record never spans two
    /// pages, so the largest entry payload is <c>PageSize - 36</c> bytes (<see cref="MaxEntrySize"/>); larger entries are
    /// rejected. Keep it at least twice the largest command, since a record that does not fit the rest of a page moves
    /// to the next one and leaves the rest unused.
    /// </summary>
    public long PageSize { get; init; } = 4L << 20;

    /// <summary>
    /// The size of one segment file, a power of two of at least <see cref="PageSize"/>; defaults to 64 MiB. Compaction
    /// deletes whole segments, so this is also the granularity at which disk space is returned.
    /// </summary>
    public long SegmentSize { get; init; } = 64L << 20;

    /// <summary>FasterLog's in-memory page ring (pinned), a power of two of at least two pages; defaults to 16 MiB.</summary>
    public long MemorySize { get; init; } = 16L << 20;

    /// <summary>
    /// Bytes of recently appended entries kept in memory, so that reads of the log's tail are served without reading
    /// the segment files; defaults to 0 (no cache). The Raft engine keeps what its followers still need itself
    /// (<c>RaftOptions.RetainedLogEntries</c>) and reads here only for a follower further behind, which the operating
    /// system's page cache serves as well; a cache here mostly keeps every entry alive long enough for the garbage
    /// collector to copy it into its oldest generation (a Raft-replicated Orleans silo ran 20–25 gen2 collections per
    /// 20 s with a 1 MiB cache, 7–9 without).
    /// </summary>
    public long CacheSize { get; init; }

    /// <summary>
    /// How often, at most, the durable end of the log is also written to the metadata file; defaults to 1 second.
    /// Appends never wait for it (each costs one fdatasync of the log only). It bounds the tail of the log in which
    /// recovery cannot tell a checksum failure from a write torn by a crash, and so reports neither as corruption.
    /// </summary>
    public TimeSpan CheckpointInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Whether the next segment file is zero-filled in the background before the log reaches it (default true), so that
    /// appends write into allocated blocks and each fdatasync has no file-system metadata to commit. When false, segments
    /// are only reserved with fallocate, which is cheaper in disk bandwidth but may cost a journal commit on early syncs.
    /// </summary>
    public bool ZeroFillSegments { get; init; } = true;

    /// <summary>
    /// Whether the log's segment files are written with O_DIRECT | O_DSYNC on Linux (default true): each write is durable
    /// when it returns, without the page cache and without a separate fdatasync. On this project's 2-core VMs a durable
    /// 4 KiB append took 84 µs and 38 µs of CPU that way, against 99–147 µs and 50–73 µs for a write plus fdatasync, and
    /// the Orleans benchmark's Raft writes gained a few per cent (docs/benchmarks.md, session 19). The log's first write
    /// decides: where the file system refuses O_DIRECT (that write's open or write fails with EINVAL), and on other
    /// operating systems, the log writes through the page cache and fdatasyncs each append instead; false always does.
    /// With direct writes FASTER's writes are aligned to 4 KiB, which file systems with 4 KiB blocks need.
    /// </summary>
    public bool DirectWrites { get; init; } = true;

    /// <summary>The largest entry payload this configuration stores: <see cref="PageSize"/> minus 36 bytes of headers.</summary>
    public int MaxEntrySize => (int)Math.Min(int.MaxValue, PageSize - RecordOverhead);

    /// <summary>Checks the options; the message of the exception names the setting and what to change.</summary>
    /// <exception cref="ArgumentException">A setting is missing or out of range.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Directory))
        {
            throw new ArgumentException("FasterLogStoreOptions.Directory must be set to the directory that holds this node's log.", nameof(Directory));
        }

        if (!IsPowerOfTwo(PageSize) || PageSize < 64 << 10 || PageSize > 1L << 30)
        {
            throw new ArgumentException(
                $"FasterLogStoreOptions.PageSize must be a power of two between 64 KiB and 1 GiB (was {PageSize}); it bounds the largest entry, so use at least twice the largest command, e.g. 4 MiB (4194304).",
                nameof(PageSize));
        }

        if (!IsPowerOfTwo(SegmentSize) || SegmentSize < PageSize)
        {
            throw new ArgumentException(
                $"FasterLogStoreOptions.SegmentSize must be a power of two and at least PageSize ({PageSize}) (was {SegmentSize}); e.g. 64 MiB (67108864).",
                nameof(SegmentSize));
        }

        if (!IsPowerOfTwo(MemorySize) || MemorySize < 2 * PageSize)
        {
            throw new ArgumentException(
                $"FasterLogStoreOptions.MemorySize must be a power of two and at least two pages ({2 * PageSize}) (was {MemorySize}); e.g. 4 × PageSize.",
                nameof(MemorySize));
        }

        if (CacheSize < 0)
        {
            throw new ArgumentException($"FasterLogStoreOptions.CacheSize must be 0 (no cache) or more bytes (was {CacheSize}).", nameof(CacheSize));
        }

        if (CheckpointInterval <= TimeSpan.Zero || CheckpointInterval == Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException(
                $"FasterLogStoreOptions.CheckpointInterval must be a positive, finite time span (was {CheckpointInterval}); 1 second is typical.",
                nameof(CheckpointInterval));
        }
    }

    // Test seams, not configuration. FlushData replaces the segment files' fdatasync (a test makes it fail).
    // CommitOnCallerThread false makes every append take the path that is otherwise taken only when another thread holds
    // FasterLog's epoch at the moment of the append's commit: wait for FasterLog's own commit, then sync
    // (FasterLogStore.AppendAsync).
    internal Action<Microsoft.Win32.SafeHandles.SafeFileHandle, string>? FlushData { get; init; }

    internal bool CommitOnCallerThread { get; init; } = true;

    private static bool IsPowerOfTwo(long value) => value > 0 && BitOperations.IsPow2(value);
}
