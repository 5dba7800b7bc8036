using System.Diagnostics;
using System.Threading.Channels;
using Raft.Core.Membership;
using Raft.Core.Messages;

namespace Raft.Core.Runtime;

// The applier: hands committed entries to the state machine in log order, off the consensus loop, resolves the
// proposals and reads waiting for them, restores snapshots the leader sent and writes this node's own snapshots.
public sealed partial class RaftNode
{
    // Work in log order, written only by the loop, read only by the applier: a batch of committed entries, or a
    // snapshot to restore before the entries after it.
    private readonly Channel<ApplyItem> _applyQueue;

    // The state machine's results for the batch being applied; used by the applier task only.
    private readonly List<ReadOnlyMemory<byte>> _responses = [];

    // Written by the applier (and by recovery before it starts) under _lock; the loop reads it under _lock.
    // Invariant: the state machine reflects exactly the committed log up to _appliedIndex; it never decreases.
    private long _appliedIndex;

    // Applier only (recovery sets them before the applier starts): what a snapshot taken now would say.
    private long _appliedTerm;
    private ClusterConfiguration _appliedConfiguration;
    private long _lastSnapshotIndex;
    private long _bytesSinceSnapshot;

    private async Task RunApplierAsync()
    {
        var reader = _applyQueue.Reader;
        var token = _stopping.Token;
        var stage = "state machine";
        try
        {
            // No token on the wait (a cancellable wait allocates each time); stopping completes the queue instead.
            while (!token.IsCancellationRequested && await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                while (!token.IsCancellationRequested && reader.TryRead(out var item))
                {
                    if (item.Snapshot is { } snapshot)
                    {
                        stage = "snapshot store or state machine (restoring a snapshot)";
                        await RestoreSnapshotAsync(snapshot, token).ConfigureAwait(false);
                    }
                    else
                    {
                        stage = "state machine";
                        await ApplyBatchAsync(item.Entries!, token).ConfigureAwait(false);
                        if (SnapshotDue)
                        {
                            stage = "snapshot store or state machine (writing a snapshot)";
                            await WriteSnapshotAsync(token).ConfigureAwait(false);
                        }
                    }
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Stopping; entries not yet applied stay in the durable log.
        }
        catch (Exception ex)
        {
            Fail(ex, stage);
        }
    }

    private async ValueTask ApplyBatchAsync(IReadOnlyList<Entry> batch, CancellationToken cancellationToken)
    {
        _responses.Clear();
        long bytes = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var entry = batch[i];
            var response = ReadOnlyMemory<byte>.Empty;
            if (entry.Index <= _appliedIndex)
            {
                // Already part of a snapshot restored ahead of the engine (a newer one had arrived meanwhile).
                _responses.Add(response);
                continue;
            }

            // No-ops and configuration entries are the engine's business; the state machine sees commands only.
            switch (entry.Type)
            {
                case EntryType.Normal:
                    var applying = _stateMachine.ApplyAsync(entry, cancellationToken);
                    response = applying.IsCompletedSuccessfully ? applying.Result : await applying.ConfigureAwait(false);
                    break;
                case EntryType.ConfigChange:
                    // Tracked so that a snapshot records the configuration as of its index (§5.1 of the thesis: it
                    // carries the latest configuration it covers); the proposer gets the new configuration back.
                    _appliedConfiguration = ClusterConfiguration.Decode(entry.Data.Span);
                    response = entry.Data;
                    break;
            }

            bytes += entry.Data.Length;
            _responses.Add(response);
        }

        var last = batch[^1];

        // One lock per batch: the loop registers whole batches too, so the two rarely wait for each other.
        lock (_lock)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                _proposals.OnApplied(batch[i], _responses[i]);
            }

            if (last.Index > _appliedIndex)
            {
                _appliedIndex = last.Index;
                _appliedTerm = last.Term;
            }

            if (_readWaiters.Count > 0)
            {
                ReleaseReadWaiters();
            }
        }

        _bytesSinceSnapshot += bytes;
        RaftMetrics.AppliedEntries.Add(batch.Count, _nodeTag);
    }

    private bool SnapshotDue =>
        _appliedIndex > _lastSnapshotIndex &&
        ((_options.SnapshotEntryThreshold > 0 && _appliedIndex - _lastSnapshotIndex >= _options.SnapshotEntryThreshold) ||
         (_options.SnapshotByteThreshold > 0 && _bytesSinceSnapshot >= _options.SnapshotByteThreshold));

    // Runs between applies (the state machine's contract), while the consensus loop keeps replicating and committing;
    // committed batches queue meanwhile. The loop compacts the log once the snapshot is durable.
    private async ValueTask WriteSnapshotAsync(CancellationToken cancellationToken)
    {
        var snapshot = new SnapshotMetadata(_appliedIndex, _appliedTerm, _appliedConfiguration);
        var started = Stopwatch.GetTimestamp();
        var writer = await _snapshotStore.CreateAsync(snapshot, cancellationToken).ConfigureAwait(false);
        await using (writer.ConfigureAwait(false))
        {
            await _stateMachine.WriteSnapshotAsync(writer.Stream, cancellationToken).ConfigureAwait(false);
            await writer.CommitAsync(cancellationToken).ConfigureAwait(false);
        }

        _lastSnapshotIndex = snapshot.Index;
        _bytesSinceSnapshot = 0;
        RaftMetrics.SnapshotsWritten.Add(1, _nodeTag);
        Log.SnapshotWritten(_logger, Id, snapshot.Index, snapshot.Term, Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        _events.Writer.TryWrite(new LoopEvent(LoopEventKind.SnapshotWritten, snapshot));
    }

    // A Ready carried a snapshot from the leader: the data is already in the snapshot store (the transport handler put
    // it there before the engine saw the message).
    private async ValueTask RestoreSnapshotAsync(SnapshotMetadata expected, CancellationToken cancellationToken)
    {
        var reader = await _snapshotStore.OpenLatestAsync(cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException(
                $"Raft node '{Id}' installed the snapshot at index {expected.Index} (term {expected.Term}), but the snapshot store holds no snapshot.");
        await using (reader.ConfigureAwait(false))
        {
            var stored = reader.Metadata;

            // A newer snapshot than the one installed may have arrived meanwhile; it is a committed prefix of the same
            // log, so restoring it is as good (the entries it covers are skipped when they come).
            if (stored.Index < expected.Index || (stored.Index == expected.Index && stored.Term != expected.Term))
            {
                throw new InvalidDataException(
                    $"Raft node '{Id}' installed the snapshot at index {expected.Index} (term {expected.Term}), but the snapshot store's newest is at index {stored.Index} (term {stored.Term}).");
            }

            if (stored.Index <= _appliedIndex)
            {
                return;
            }

            await _stateMachine.RestoreSnapshotAsync(reader.Stream, cancellationToken).ConfigureAwait(false);
            _appliedConfiguration = stored.Configuration;
            _lastSnapshotIndex = stored.Index;
            _bytesSinceSnapshot = 0;
            lock (_lock)
            {
                _appliedIndex = stored.Index;
                _appliedTerm = stored.Term;
                _proposals.OnSnapshotRestored(stored.Index, stored.Term);
                if (_readWaiters.Count > 0)
                {
                    ReleaseReadWaiters();
                }
            }

            RaftMetrics.SnapshotsInstalled.Add(1, _nodeTag);
            Log.SnapshotInstalled(_logger, Id, stored.Index, stored.Term);
        }
    }

    private readonly record struct ApplyItem(IReadOnlyList<Entry>? Entries, SnapshotMetadata? Snapshot);
}
