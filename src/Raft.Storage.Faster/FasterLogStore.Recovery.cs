using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using FASTER.core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Raft.Storage.Faster.Internal;

namespace Raft.Storage.Faster;

public sealed partial class FasterLogStore
{
    // FasterLog's first record address.
    private const long FirstAddress = 64;

    /// <summary>
    /// Opens the log in <see cref="FasterLogStoreOptions.Directory"/> (creating an empty one when the directory holds
    /// none), verifies it and rebuilds the index with one scan.
    /// </summary>
    /// <param name="options">The configuration; validated here.</param>
    /// <param name="loggerFactory">Where the store logs; none when null.</param>
    /// <param name="cancellationToken">Cancels waiting for the open (the recovery scan itself runs to its end).</param>
    /// <returns>The open store; dispose it to release the directory.</returns>
    /// <remarks>
    /// Recovery keeps every batch whose records are all intact and drops an unfinished batch at the end of the log (an
    /// append interrupted by a crash, never acknowledged). It refuses to open, with a <see cref="LogCorruptedException"/>
    /// naming the file and offset, when a record before the last durable point recorded in the metadata fails its
    /// checksum, when indexes have a gap or go backwards without a truncation record, or when segment files exist but
    /// the metadata is missing or unreadable.
    /// </remarks>
    /// <exception cref="ArgumentException">The options are invalid, or differ from the ones the log was created with.</exception>
    /// <exception cref="IOException">The directory is locked by another store, or cannot be read.</exception>
    /// <exception cref="LogCorruptedException">The stored log fails verification.</exception>
    public static async Task<FasterLogStore> OpenAsync(FasterLogStoreOptions options, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var logger = (ILogger?)loggerFactory?.CreateLogger<FasterLogStore>() ?? NullLogger.Instance;
        return await Task.Run(() => Open(options, logger), cancellationToken).ConfigureAwait(false);
    }

    private static FasterLogStore Open(FasterLogStoreOptions options, ILogger logger)
    {
        var started = Stopwatch.GetTimestamp();
        var directory = Path.GetFullPath(options.Directory);
        NativeIo.CreateDirectoryDurably(directory);
        var directoryLock = DirectoryLock.Acquire(directory, "Raft log");
        var disposables = new Stack<IDisposable>();
        disposables.Push(directoryLock);
        try
        {
            var basePath = Path.Combine(directory, "log");
            var metadataPath = basePath + ".meta";
            var segments = ListSegments(directory);
            var pageBits = Log2(options.PageSize);
            var segmentBits = Log2(options.SegmentSize);
            if (!File.Exists(metadataPath) && segments.Count > 0)
            {
                throw new LogCorruptedException(metadataPath, -1,
                    $"The log has {segments.Count} segment files but its metadata file is missing; refusing to open it as an empty log, which could make this node forget acknowledged entries");
            }

            var metadata = MetadataFile.OpenOrCreate(metadataPath);
            disposables.Push(metadata);
            var latest = metadata.ReadLatest(out var damaged);

            // Zero-filled segments without a valid slot are what a crash during the first open leaves (the first segment
            // is prepared before the first epoch is written): nothing was ever appended, so the log is empty.
            if (latest is null && (damaged || segments.Any(s => !IsZeroFilled(SegmentDevice.SegmentPath(basePath, s)))))
            {
                throw new LogCorruptedException(metadataPath, -1,
                    $"Neither slot of the log's metadata file is valid{(segments.Count > 0 ? $" while {segments.Count} segment files exist" : "")}; refusing to guess where the log starts");
            }

            var persisted = latest ?? new LogMetadata(0, 0, pageBits, segmentBits, FirstAddress, FirstAddress);
            if (persisted.PageSizeBits != pageBits || persisted.SegmentSizeBits != segmentBits)
            {
                throw new ArgumentException(
                    $"The log in '{directory}' was created with PageSize {1L << persisted.PageSizeBits} and SegmentSize {1L << persisted.SegmentSizeBits}; open it with the same FasterLogStoreOptions values (they are part of the on-disk format), not {options.PageSize} and {options.SegmentSize}.",
                    nameof(options));
            }

            var device = new SegmentDevice(basePath, options.SegmentSize, options.ZeroFillSegments, options.FlushData, options.DirectWrites);
            disposables.Push(device);
            var scan = new RecoveryScan(device, options.PageSize, segmentBits, persisted);
            scan.Run();
            if (scan.TornReason is { } reason)
            {
                Log.TornTailDropped(logger, directory, scan.End, reason);
            }

            var leftovers = segments.Count(s => s < scan.Begin >> segmentBits);
            foreach (var segment in segments.Where(s => s < scan.Begin >> segmentBits))
            {
                device.RemoveSegment((int)segment);
            }

            if (leftovers > 0)
            {
                Log.LeftoverSegmentsDeleted(logger, directory, leftovers);
            }

            // A crash between an append's write and its fdatasync (buffered writes) can leave a complete batch in the
            // page cache only. The scan took it into the log, which the node may now acknowledge and the metadata is
            // about to call durable: make it so first.
            if (scan.End > persisted.DurableUntil)
            {
                device.SyncSegments(Math.Max(persisted.DurableUntil, scan.Begin) >> segmentBits, (scan.End - 1) >> segmentBits);
            }

            device.PrepareNow((int)(scan.End >> segmentBits));

            // The new epoch is durable before anything is written in it.
            var epoch = checked(persisted.Epoch + 1);
            persisted = metadata.Write(persisted with { Epoch = epoch, BeginAddress = scan.Begin, DurableUntil = scan.End });
            var commitManager = new SlotCommitManager(device, metadata, persisted, options.CheckpointInterval);
            if (scan.End > FirstAddress)
            {
                commitManager.SetRecoveryPoint(scan.Begin, scan.End);
            }

            var log = new FasterLog(new FasterLogSettings
            {
                LogDevice = device,
                LogCommitManager = commitManager,
                PageSize = options.PageSize,
                MemorySize = options.MemorySize,
                SegmentSize = options.SegmentSize,
                LogChecksum = LogChecksumType.None,
                FastCommitMode = false,
                AutoCommit = false,
                TryRecoverLatest = true,
                RemoveOutdatedCommits = false,
            });
            if (log.TailAddress != scan.End || (scan.End > FirstAddress && log.BeginAddress != scan.Begin))
            {
                log.Dispose();
                throw new InvalidOperationException(
                    $"FasterLog recovered to [{log.BeginAddress}, {log.TailAddress}) instead of the verified [{scan.Begin}, {scan.End}) in '{directory}'.");
            }

            Log.Recovered(logger, directory, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds, scan.Table.First, scan.Table.Last, scan.RecordCount, scan.End - scan.Begin, epoch);
            return new FasterLogStore(options with { Directory = directory }, logger, directoryLock, metadata, device, commitManager, log, scan.Table, epoch);
        }
        catch
        {
            while (disposables.TryPop(out var disposable))
            {
                disposable.Dispose();
            }

            throw;
        }
    }

    private static bool IsZeroFilled(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var buffer = new byte[1 << 20];
        for (long offset = 0; ;)
        {
            var read = RandomAccess.Read(handle, buffer, offset);
            if (read == 0)
            {
                return true;
            }

            if (buffer.AsSpan(0, read).ContainsAnyExcept((byte)0))
            {
                return false;
            }

            offset += read;
        }
    }

    private static List<long> ListSegments(string directory)
    {
        var segments = new List<long>();
        foreach (var path in System.IO.Directory.EnumerateFiles(directory, "log.*"))
        {
            var suffix = Path.GetFileName(path)["log.".Length..];
            if (long.TryParse(suffix, NumberStyles.None, CultureInfo.InvariantCulture, out var segment))
            {
                segments.Add(segment);
            }
        }

        segments.Sort();
        return segments;
    }

    // One pass over the log from the persisted begin address, page by page, rebuilding the index -> slot table.
    // A batch is applied when its EndOfBatch record is read. The scan stops at the first record that is not intact
    // (zeros, bad length, bad checksum, or an older epoch: a stale record left past a tail recovered earlier); when that
    // happens before the durable point recorded in the metadata, it is corruption, not a torn tail.
    private sealed class RecoveryScan(SegmentDevice device, long pageSize, int segmentBits, LogMetadata metadata)
    {
        private readonly List<(RecordHeader Header, long Address, int Length)> _batch = [];
        private readonly byte[] _page = new byte[pageSize];
        private long _loadedPage = -1;
        private int _loadedBytes;
        private bool _started;

        public long Begin { get; } = metadata.BeginAddress;

        // The end of the last complete batch: where FasterLog resumes.
        public long End { get; private set; } = metadata.BeginAddress;

        public SlotTable Table { get; } = new(1);

        public long RecordCount { get; private set; }

        public string? TornReason { get; private set; }

        public void Run()
        {
            var address = Begin;
            var lastEpoch = 0;
            while (true)
            {
                var pageStart = address & ~(pageSize - 1);
                var offset = (int)(address - pageStart);
                if (offset + 4 > pageSize)
                {
                    address = pageStart + pageSize;
                    continue;
                }

                Load(pageStart);
                var length = offset + 4 <= _loadedBytes ? BinaryPrimitives.ReadInt32LittleEndian(_page.AsSpan(offset)) : 0;
                if (length == 0)
                {
                    if (offset == 0)
                    {
                        Stop(address, "end of the written log");
                        return;
                    }

                    // FasterLog pads the rest of a page with zeros when the next record does not fit; also page 0 from
                    // its first address (64) on, when the log's first record is longer than the rest of that page.
                    address = pageStart + pageSize;
                    continue;
                }

                string? problem = null;
                RecordHeader header = default;
                if (length < LogRecord.HeaderSize || offset + 4L + length > pageSize)
                {
                    problem = $"impossible record length {length}";
                }
                else
                {
                    problem = LogRecord.TryParse(_page.AsSpan(offset + 4, length), out header);
                    if (problem is null && header.Epoch < lastEpoch)
                    {
                        problem = $"record of epoch {header.Epoch} after one of epoch {lastEpoch} (left from before an earlier recovery)";
                    }
                    else if (problem is null && header.Epoch > metadata.Epoch)
                    {
                        problem = $"record of epoch {header.Epoch}, later than the last open ({metadata.Epoch})";
                    }
                }

                if (problem is not null)
                {
                    Stop(address, problem);
                    return;
                }

                lastEpoch = header.Epoch;
                RecordCount++;
                _batch.Add((header, address, length));
                address += Framed(length);
                if ((header.Flags & RecordFlags.EndOfBatch) != 0)
                {
                    ApplyBatch();
                    End = address;
                }
            }
        }

        private void Stop(long address, string reason)
        {
            if (address < metadata.DurableUntil || End < metadata.DurableUntil)
            {
                throw new LogCorruptedException(device.PathOf(address >> segmentBits), address & ((1L << segmentBits) - 1),
                    $"The log is damaged inside its committed part (durable through address {metadata.DurableUntil}, bad record at address {address}): {reason}");
            }

            if (_batch.Count > 0 || reason != "end of the written log")
            {
                TornReason = reason;
            }

            if (!_started)
            {
                Table.Reset(1);
            }
        }

        private void ApplyBatch()
        {
            foreach (var (header, address, length) in _batch)
            {
                var problem = Apply(header, address, length);
                if (problem is not null)
                {
                    throw new LogCorruptedException(device.PathOf(address >> segmentBits), address & ((1L << segmentBits) - 1),
                        $"The log is inconsistent at address {address}: {problem}; refusing to guess which entries are real");
                }
            }

            _batch.Clear();
        }

        private string? Apply(RecordHeader header, long address, int length)
        {
            if (!_started)
            {
                _started = true;
                switch (header.Kind)
                {
                    case RecordKind.Entry when header.Index == 1 || Begin > FirstAddress:
                        Table.Reset(header.Index);
                        break;
                    case RecordKind.Reset:
                        Table.Reset(header.Index + 1);
                        return null;
                    default:
                        return $"the log starts with a {header.Kind} record for index {header.Index}";
                }
            }

            switch (header.Kind)
            {
                case RecordKind.Entry:
                    if (header.Index != Table.Last + 1)
                    {
                        return $"entry {header.Index} follows entry {Table.Last} without a truncation record (a gap or a step backwards)";
                    }

                    if (Table.Last >= Table.First && header.Term < Table[Table.Last].Term)
                    {
                        return $"entry {header.Index} has term {header.Term}, lower than the term {Table[Table.Last].Term} of the entry before it";
                    }

                    Table.Add(new Slot { Address = address, Term = header.Term, Length = length });
                    return null;
                case RecordKind.Truncate:
                    if (header.Index < Table.First || header.Index > Table.Last + 1)
                    {
                        return $"truncation from index {header.Index} outside the log [{Table.First}, {Table.Last}]";
                    }

                    Table.TruncateFrom(header.Index);
                    return null;
                default:
                    Table.Reset(header.Index + 1);
                    return null;
            }
        }

        private void Load(long pageStart)
        {
            if (_loadedPage == pageStart)
            {
                return;
            }

            _loadedPage = pageStart;
            _loadedBytes = device.Read(pageStart >> segmentBits, pageStart & ((1L << segmentBits) - 1), _page);
            _page.AsSpan(_loadedBytes).Clear();
        }
    }
}
