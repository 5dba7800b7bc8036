using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Testing.KeyValue;
using Raft.Testing.Simulation.Invariants;

namespace Raft.Testing.Simulation;

/// <summary>Snapshots (§7): taking one and compacting behind it, sending the newest to a lagging follower, receiving and installing one.</summary>
internal sealed partial class SimNode
{
    /// <summary>The leader's side: the engine asked for InstallSnapshot; stream the newest durable snapshot beside it.</summary>
    /// <remarks>
    /// The engine names the newest snapshot it knows; the store may hold a newer one (received from an earlier leader
    /// but not installed, because the log already matched), and that is what a runtime reading the store sends, so the
    /// message is made to describe the data that actually goes.
    /// </remarks>
    public SnapshotTransfer PrepareSnapshotTransfer(Message message, int incarnation)
    {
        var stored = Snapshots.ReadLatest() ?? throw new InvariantViolationException(
            CommittedEntriesDurableInvariant.Name, $"{Id} is asked to send snapshot {message.Snapshot} but holds no durable snapshot.");
        var meta = stored.Metadata;
        if (meta != message.Snapshot)
        {
            if (message.Snapshot is null || meta.Index < message.Snapshot.Index)
            {
                throw new InvariantViolationException(
                    CommittedEntriesDurableInvariant.Name, $"{Id} is asked to send snapshot {message.Snapshot}, newer than its durable one ({meta}).");
            }

            message = message with { Snapshot = meta, Index = meta.Index, LogTerm = meta.Term };
        }

        _sim.Trace($"{Id} streams snapshot {meta.Index}/{meta.Term} ({stored.Data.Length}B) to {message.To}");
        return new SnapshotTransfer(message, stored.Data, incarnation, null);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Completes synchronously, unless a leader's writes are in flight: the stream then waits for them like any input.
    /// Faulted when the node was down or stopped before the snapshot was durable.
    /// </remarks>
    public Task ReceiveSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(data);
        if (!IsUp)
        {
            return Task.FromException(new InvalidOperationException($"{Id} is down."));
        }

        using var copy = new MemoryStream();
        data.CopyTo(copy);
        var bytes = copy.ToArray();

        // Without RunContinuationsAsynchronously, the network's continuation runs inline when this completes.
        var stored = new TaskCompletionSource();
        Submit(
            node => node.StoreAndStepSnapshot(message, bytes, stored),
            () => stored.TrySetException(new InvalidOperationException($"{Id} stopped before the snapshot was durable.")));
        return stored.Task;
    }

    // The snapshot is made durable, then the engine steps its message; `stored` completes once the data is durable
    // (or the engine will not install it, so it is not stored), and faults when a crash came first.
    private void StoreAndStepSnapshot(Message message, byte[] data, TaskCompletionSource stored)
    {
        var meta = message.Snapshot ?? throw new InvalidOperationException("InstallSnapshot without snapshot metadata.");
        var status = _raw!.Status;
        if (message.Term < status.Term || meta.Index <= status.CommitIndex)
        {
            // The engine ignores a stale leader's snapshot and answers one it already has with its commit index. Such
            // a snapshot must not become durable: the store keeps only the newest, and it would shadow the older one
            // the engine installs next (seed 1), leaving nothing to restore the state machine from.
            _sim.Trace($"{Id} does not store snapshot {meta.Index}/{meta.Term} from {message.From} (term {message.Term}): the engine will not install it");
            stored.SetResult();
            _raw.Step(message);
            return;
        }

        try
        {
            // The IRaftMessageHandler contract: the data is durable before the engine sees the message.
            Snapshots.Save(meta, data);
        }
        catch (SimulatedCrashException)
        {
            stored.SetException(new InvalidOperationException($"{Id} crashed before the snapshot was durable."));
            throw;
        }

        stored.SetResult();
        MaybeCrash($"after storing snapshot {meta.Index}, before stepping it");
        _raw.Step(message);
    }

    /// <summary>Ready.Snapshot: the log store was reset; restore the state machine before applying anything after it.</summary>
    private void RestoreInstalledSnapshot(SnapshotMetadata snapshot)
    {
        var stored = Snapshots.ReadLatest();
        if (stored?.Metadata != snapshot)
        {
            throw new InvariantViolationException(
                RecoveryName, $"{Id} installs snapshot {snapshot}, but its newest durable snapshot is {stored?.Metadata.ToString() ?? "none"}.");
        }

        if (!_sim.Options.SkipRestoreOnInstall)
        {
            Restore(_stateMachine!, stored.Value.Data);
        }

        _appliedIndex = snapshot.Index;
        _appliedTerm = snapshot.Term;
        _appliedConfiguration = snapshot.Configuration;

        // Proposals this node made as an earlier leader may or may not be in the snapshot; none will be applied one by one.
        _tracker!.FailAll(new RaftNodeStoppedException($"{Id} installed snapshot {snapshot.Index}: the outcome of its pending proposals is unknown."));
        _sim.OnSnapshotInstalled(this, snapshot);
    }

    /// <summary>After Advance: once enough was applied since the newest snapshot, take one and compact the log behind it.</summary>
    private void MaybeSnapshot()
    {
        var threshold = _sim.Options.SnapshotThreshold;
        if (threshold <= 0 || _appliedIndex - Snapshots.LatestIndex < threshold)
        {
            return;
        }

        var meta = new SnapshotMetadata(_appliedIndex, _appliedTerm, _appliedConfiguration);
        using (var data = new MemoryStream())
        {
            var written = _stateMachine!.WriteSnapshotAsync(data);
            if (!written.IsCompletedSuccessfully)
            {
                throw new InvalidOperationException("KvStateMachine.WriteSnapshotAsync did not complete synchronously.");
            }

            Snapshots.Save(meta, data.ToArray());
        }

        var aheadOfOwnLog = meta.Index > Log.LastIndex;
        _snapshotTakenPastLog = aheadOfOwnLog ? meta : null;
        _sim.OnSnapshotTaken(this, meta, aheadOfOwnLog);
        MaybeCrash($"after snapshot {meta.Index} was durable, before compacting");
        if (_inFlight is not null)
        {
            // As in the runtime, the log is compacted only once the writes in flight end (the engine's log is theirs
            // until Advance).
            _deferred.Enqueue((node => node.Compact(meta), null));
            return;
        }

        Compact(meta);
    }

    private void Compact(SnapshotMetadata meta)
    {
        var through = _raw!.Compact(meta);
        _writesInReady = 0;
        _crashing = null;
        var compacted = Log.CompactAsync(through);
        if (!compacted.IsCompletedSuccessfully)
        {
            compacted.GetAwaiter().GetResult();
        }
    }

    private static void Restore(KvStateMachine stateMachine, byte[] data)
    {
        using var source = new MemoryStream(data, writable: false);
        var restored = stateMachine.RestoreSnapshotAsync(source);
        if (!restored.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("KvStateMachine.RestoreSnapshotAsync did not complete synchronously.");
        }
    }
}
