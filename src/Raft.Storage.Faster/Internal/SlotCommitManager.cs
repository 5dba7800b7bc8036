using System.Diagnostics;
using FASTER.core;

namespace Raft.Storage.Faster.Internal;

// FasterLog's commit hook. FasterLog calls Commit once the pages up to untilAddress are written to the device; this
// makes them durable with one fdatasync per written segment and records the new durable point in memory (during an
// append, the append does both itself: see AppendSyncs). The metadata
// file is written only when the begin address moved (compaction: it must be durable before FasterLog deletes the
// segments below it, which it does right after Commit returns), or when the last write is older than the checkpoint
// interval. Recovery does not need the metadata to find the end of the log: it scans checksummed records and batch
// markers past DurableUntil.
// Failures are recorded, not thrown: an exception here would stall FasterLog's commit worker; the store checks Failure
// after every commit and stops.
internal sealed class SlotCommitManager(SegmentDevice device, MetadataFile metadata, LogMetadata persisted, TimeSpan checkpointInterval)
    : ILogCommitManager
{
    private readonly Lock _lock = new();
    private LogMetadata _persisted = persisted;
    private long _lastWrite = Stopwatch.GetTimestamp();
    private long _durableUntil = persisted.DurableUntil;
    private long _begin = persisted.BeginAddress;
    private byte[]? _recoveryCommit;
    private volatile Exception? _failure;
    private volatile bool _appendSyncs;

    public Exception? Failure => _failure;

    // Set by the store for the length of an append, which makes its own pages durable on its own thread
    // (FasterLogStore.SyncOnThisThread). FasterLog runs this hook on a pool thread meanwhile, usually during that
    // thread's fdatasync: it then leaves the sync to the append rather than wait for the device's lock, which held a
    // pool thread for most of an fdatasync per append and node (nearly all of the process's lock contentions in the
    // Orleans benchmark). Not for a commit that moves the begin address (compaction, reset): those sync here as ever,
    // since their metadata must follow durable data. FasterLog takes a skipped commit as done, so no one may wait on
    // FasterLog's commit for durability during an append; the append's own waits sync after it (SyncOnThisThread).
    public bool AppendSyncs
    {
        get => _appendSyncs;
        set => _appendSyncs = value;
    }

    public long MetadataWriteCount { get; private set; }

    // What FasterLog recovers to: the begin address and the end of the last complete batch, as verified by the scan.
    public void SetRecoveryPoint(long beginAddress, long untilAddress)
    {
        var info = new FasterLogRecoveryInfo();
        info.Initialize();
        info.BeginAddress = beginAddress;
        info.UntilAddress = untilAddress;
        info.CommitNum = 1;
        _recoveryCommit = info.ToByteArray();
    }

    public void Commit(long beginAddress, long untilAddress, byte[] commitMetadata, long commitNum, bool forceWriteMetadata)
    {
        if (_failure is not null)
        {
            return;
        }

        try
        {
            if (device.Failure is { } failed)
            {
                throw failed;
            }

            if (_appendSyncs)
            {
                lock (_lock)
                {
                    if (beginAddress == _begin && beginAddress == _persisted.BeginAddress)
                    {
                        // The append syncs these pages and moves the durable point itself; the metadata still follows
                        // what is known durable when it is due.
                        if (Stopwatch.GetElapsedTime(_lastWrite) >= checkpointInterval)
                        {
                            WriteLocked();
                        }

                        return;
                    }
                }
            }

            device.SyncDirty();
            if (device.Failure is { } failure)
            {
                throw failure;
            }

            lock (_lock)
            {
                _durableUntil = Math.Max(_durableUntil, untilAddress);
                _begin = beginAddress;
                if (beginAddress != _persisted.BeginAddress || Stopwatch.GetElapsedTime(_lastWrite) >= checkpointInterval)
                {
                    WriteLocked();
                }
            }
        }
        catch (Exception ex)
        {
            _failure ??= ex;
            device.KeepSegments();
        }
    }

    // The log address up to which the log is known durable (tests).
    public long DurableUntil
    {
        get
        {
            lock (_lock)
            {
                return _durableUntil;
            }
        }
    }

    // The store made everything before untilAddress durable itself (an append's fdatasync on its own thread, before
    // FasterLog's commit hook runs): the durable point moves now, so a checkpoint written before the hook runs still
    // covers the append, and recovery verifies it as committed rather than treating it as an unfinished tail.
    public void MarkDurable(long untilAddress)
    {
        lock (_lock)
        {
            _durableUntil = Math.Max(_durableUntil, untilAddress);
        }
    }

    // Writes the durable point now (a clean shutdown), so that reopening verifies the whole log as committed.
    public void Checkpoint()
    {
        lock (_lock)
        {
            if (_failure is null && (_durableUntil != _persisted.DurableUntil || _begin != _persisted.BeginAddress))
            {
                WriteLocked();
            }
        }
    }

    public byte[] GetCommitMetadata(long commitNum) => commitNum == 1 ? _recoveryCommit! : null!;

    public IEnumerable<long> ListCommits() => _recoveryCommit is null ? [] : [1L];

    public void RemoveCommit(long commitNum)
    {
    }

    public void RemoveAllCommits()
    {
    }

    public void OnRecovery(long commitNum)
    {
    }

    public void Dispose()
    {
    }

    private void WriteLocked()
    {
        _persisted = metadata.Write(_persisted with { BeginAddress = _begin, DurableUntil = _durableUntil });
        _lastWrite = Stopwatch.GetTimestamp();
        MetadataWriteCount++;
    }
}
