using Raft.Core.Messages;
using Raft.Core.Storage;
using Raft.Testing.Simulation.Invariants;

namespace Raft.Testing.Simulation;

/// <summary>
/// A node's durable log: an <see cref="InMemoryLogStore"/> that outlives the node's crashes, wrapped so that a write
/// can crash the node just before or just after it becomes durable, and so that the invariants see every write.
/// </summary>
/// <remarks>
/// An append, a compaction and a reset are each atomic (the <see cref="ILogStore"/> contract): they land whole or not
/// at all. The store keeps a mirror of its entries (<see cref="ILogView"/>) for the invariants, which index into it
/// on every event. Compaction and reset move the base; the base term is remembered so that the first entry after it
/// can be checked for Log Matching and a restart can tell whether the log continues a snapshot.
/// With <see cref="SimulationOptions.LyingLogStore"/> the store acknowledges appends it has not made durable, and a
/// crash loses them: the self-test that proves the checks catch a disk that lies about fsync.
/// An append the owner asks to delay (a leader's write in flight, see <see cref="SimNode"/>'s InFlight part) returns an
/// incomplete task and reaches the disk only when the owner's disk event lands it, or a crash decides its fate.
/// </remarks>
internal sealed class FaultyLogStore : ILogStore, ILogView
{
    private readonly SimNode _owner;
    private readonly Simulator _sim;

    // Invariant: _entries[i].Index == _baseIndex + 1 + i; _baseTerm is the term of the entry at _baseIndex.
    private readonly List<Entry> _entries = [];
    private InMemoryLogStore _durable = new();
    private long _baseIndex;
    private long _baseTerm;

    // Lying mode: the last index that truly reached the disk; entries past it vanish on a crash.
    private long _trulyDurable;

    // The append in flight, if any, with what the owner knew when it decided it: not on the disk yet, and
    // acknowledged (its task completed) only once it is.
    private (Entry[] Entries, WriteDecision Decided, TaskCompletionSource Completion)? _delayed;

    public FaultyLogStore(SimNode owner, Simulator sim)
    {
        _owner = owner;
        _sim = sim;
    }

    public long BaseIndex => _baseIndex;

    public long BaseTerm => _baseTerm;

    public long FirstIndex => _baseIndex + 1;

    public long LastIndex => _baseIndex + _entries.Count;

    public Entry? At(long index) => index > _baseIndex && index <= LastIndex ? _entries[(int)(index - _baseIndex - 1)] : null;

    /// <summary>The entries after <paramref name="index"/>, as a restart hands them to the engine.</summary>
    public Entry[] EntriesAfter(long index)
    {
        var skip = (int)Math.Max(0, index - _baseIndex);
        return skip >= _entries.Count ? [] : _entries.GetRange(skip, _entries.Count - skip).ToArray();
    }

    /// <summary>Whether an append is in flight: started, not yet on the disk.</summary>
    public bool HasDelayedAppend => _delayed is not null;

    public ValueTask AppendAsync(IReadOnlyList<Entry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return ValueTask.CompletedTask;
        }

        var decided = _owner.DecideWrite(entries);
        if (_owner.TakeAppendDelay())
        {
            if (_delayed is not null)
            {
                throw new InvalidOperationException($"{_owner.Id} started an append while another was in flight; the log store has a single writer.");
            }

            // Without RunContinuationsAsynchronously, whoever awaits this task (ReadyProcessor) continues inline when
            // the disk event completes it: the run stays on one thread, in one order.
            var completion = new TaskCompletionSource();
            _delayed = (entries.ToArray(), decided, completion);
            return new ValueTask(completion.Task);
        }

        Write(entries, decided);
        return ValueTask.CompletedTask;
    }

    /// <summary>The disk event of the append in flight: it lands (or crashes the node, like any write), then is acknowledged.</summary>
    public void LandDelayedAppend()
    {
        var (entries, decided, completion) = _delayed ?? throw new InvalidOperationException($"{_owner.Id} has no append in flight.");
        _delayed = null;
        Write(entries, decided);
        completion.SetResult();
    }

    /// <summary>The node stopped with an append in flight: it reached the disk (<paramref name="landed"/>) or it did not; nobody hears of it.</summary>
    /// <returns>The entries the append held.</returns>
    public IReadOnlyList<Entry> EndDelayedAppend(bool landed)
    {
        var (entries, decided, _) = _delayed ?? throw new InvalidOperationException($"{_owner.Id} has no append in flight.");
        _delayed = null;
        if (landed)
        {
            WriteDurably(entries, decided);
        }

        return entries;
    }

    // One durable append whose fate is decided now: it may crash the node before or right after it lands.
    private void Write(IReadOnlyList<Entry> entries, WriteDecision decided)
    {
        var fate = _owner.DecideWriteFate();
        if (fate == WriteFate.CrashBefore)
        {
            throw new SimulatedCrashException($"{_owner.Id} crashed before appending {entries[0].Index}..{entries[^1].Index}");
        }

        WriteDurably(entries, decided);
        if (fate == WriteFate.CrashAfter)
        {
            throw new SimulatedCrashException($"{_owner.Id} crashed right after appending {entries[0].Index}..{entries[^1].Index}");
        }
    }

    private void WriteDurably(IReadOnlyList<Entry> entries, WriteDecision decided)
    {
        _sim.BeforeDurableAppend(_owner, this, entries, decided);
        Complete(_durable.AppendAsync(entries), "AppendAsync");

        var from = entries[0].Index;
        var keep = (int)(from - _baseIndex - 1);
        _entries.RemoveRange(keep, _entries.Count - keep);
        _entries.AddRange(entries);
        if (!_sim.Options.LyingLogStore || _owner.Random.Chance(0.5))
        {
            _trulyDurable = LastIndex;
        }
        else
        {
            _trulyDurable = Math.Min(_trulyDurable, from - 1);
        }

        _sim.AfterDurableAppend(_owner, this, from);
    }

    public ValueTask CompactAsync(long throughIndex, CancellationToken cancellationToken = default)
    {
        var through = Math.Min(throughIndex, LastIndex);
        if (through <= _baseIndex)
        {
            return ValueTask.CompletedTask;
        }

        var fate = _owner.DecideWriteFate();
        if (fate == WriteFate.CrashBefore)
        {
            throw new SimulatedCrashException($"{_owner.Id} crashed before compacting its log through {through}");
        }

        CommittedEntriesDurableInvariant.BeforeCompact(_owner.Id, through, _owner.Snapshots.LatestIndex);
        Complete(_durable.CompactAsync(throughIndex, cancellationToken), "CompactAsync");
        _baseTerm = At(through)!.Term;
        _entries.RemoveRange(0, (int)(through - _baseIndex));
        _baseIndex = through;
        _trulyDurable = Math.Max(_trulyDurable, through);
        if (fate == WriteFate.CrashAfter)
        {
            throw new SimulatedCrashException($"{_owner.Id} crashed right after compacting its log through {through}");
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask ResetAsync(long snapshotIndex, CancellationToken cancellationToken = default)
    {
        var fate = _owner.DecideWriteFate();
        if (fate == WriteFate.CrashBefore)
        {
            throw new SimulatedCrashException($"{_owner.Id} crashed before resetting its log to snapshot {snapshotIndex}");
        }

        // The snapshot the reset stands for must already be durable, or a crash now would leave nothing behind index
        // snapshotIndex at all.
        var snapshot = _owner.Snapshots.Latest;
        if (snapshot is null || snapshot.Index != snapshotIndex)
        {
            throw new InvariantViolationException(
                CommittedEntriesDurableInvariant.Name,
                $"{_owner.Id} resets its log to start after {snapshotIndex}, but its newest durable snapshot is {snapshot?.Index.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}.");
        }

        _sim.BeforeLogReset(_owner, this, snapshotIndex);
        Complete(_durable.ResetAsync(snapshotIndex, cancellationToken), "ResetAsync");
        SetBase(snapshotIndex, snapshot.Term);
        if (fate == WriteFate.CrashAfter)
        {
            throw new SimulatedCrashException($"{_owner.Id} crashed right after resetting its log to snapshot {snapshotIndex}");
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Recovery: the log does not continue the newest snapshot, so it is discarded (no fault is injected here).</summary>
    public void RecoverTo(long snapshotIndex, long snapshotTerm)
    {
        Complete(_durable.ResetAsync(snapshotIndex), "ResetAsync");
        SetBase(snapshotIndex, snapshotTerm);
    }

    public ValueTask<IReadOnlyList<Entry>> ReadAsync(long fromIndex, long toIndexInclusive, CancellationToken cancellationToken = default) =>
        _durable.ReadAsync(fromIndex, toIndexInclusive, cancellationToken);

    /// <summary>Lying mode: the node crashed, so the appends that never reached the disk are gone.</summary>
    /// <returns>The first index lost, or 0 when nothing was.</returns>
    public long LoseUnsyncedWrites()
    {
        if (_trulyDurable >= LastIndex)
        {
            return 0;
        }

        var lostFrom = _trulyDurable + 1;
        _entries.RemoveRange((int)(_trulyDurable - _baseIndex), (int)(LastIndex - _trulyDurable));
        _durable = new InMemoryLogStore();
        if (_baseIndex > 0)
        {
            Complete(_durable.ResetAsync(_baseIndex), "ResetAsync");
        }

        Complete(_durable.AppendAsync(_entries), "AppendAsync");
        return lostFrom;
    }

    private void SetBase(long index, long term)
    {
        _entries.Clear();
        _baseIndex = index;
        _baseTerm = term;
        _trulyDurable = index;
    }

    private static void Complete(ValueTask pending, string operation)
    {
        if (!pending.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException($"InMemoryLogStore.{operation} did not complete synchronously.");
        }

        pending.GetAwaiter().GetResult();
    }
}
