using Raft.Core.Messages;
using Raft.Core.Storage;

namespace Raft.Testing.Simulation;

/// <summary>
/// A node's durable log: an <see cref="InMemoryLogStore"/> that outlives the node's crashes, wrapped so that a write
/// can crash the node just before or just after it becomes durable, and so that the invariants see every write.
/// </summary>
/// <remarks>
/// An append is atomic (the <see cref="ILogStore"/> contract): it lands whole or not at all. <see cref="Entries"/> is a
/// mirror of the store kept for the invariants, which index into it on every event.
/// With <see cref="SimulationOptions.LyingLogStore"/> the store acknowledges appends it has not made durable, and a
/// crash loses them: the self-test that proves the checks catch a disk that lies about fsync.
/// </remarks>
internal sealed class FaultyLogStore : ILogStore
{
    private readonly SimNode _owner;
    private readonly Simulator _sim;
    private readonly List<Entry> _entries = [];
    private InMemoryLogStore _durable = new();

    // Lying mode: the prefix length that truly reached the disk; entries past it vanish on a crash.
    private long _trulyDurable;

    public FaultyLogStore(SimNode owner, Simulator sim)
    {
        _owner = owner;
        _sim = sim;
    }

    /// <summary>The durable log (entry i at position i - 1), as the store would return it after a crash.</summary>
    public IReadOnlyList<Entry> Entries => _entries;

    public long FirstIndex => 1;

    public long LastIndex => _entries.Count;

    public ValueTask AppendAsync(IReadOnlyList<Entry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return ValueTask.CompletedTask;
        }

        var fate = _owner.DecideWriteFate();
        if (fate == WriteFate.CrashBefore)
        {
            throw new SimulatedCrashException($"{_owner.Id} crashed before appending {entries[0].Index}..{entries[^1].Index}");
        }

        _sim.BeforeDurableAppend(_owner, _entries, entries);
        var pending = _durable.AppendAsync(entries, cancellationToken);
        if (!pending.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("InMemoryLogStore.AppendAsync did not complete synchronously.");
        }

        var from = entries[0].Index;
        _entries.RemoveRange((int)(from - 1), _entries.Count - (int)(from - 1));
        _entries.AddRange(entries);
        if (!_sim.Options.LyingLogStore || _owner.Random.Chance(0.5))
        {
            _trulyDurable = _entries.Count;
        }
        else
        {
            _trulyDurable = Math.Min(_trulyDurable, from - 1);
        }

        _sim.AfterDurableAppend(_owner, _entries, from);
        if (fate == WriteFate.CrashAfter)
        {
            throw new SimulatedCrashException($"{_owner.Id} crashed right after appending {entries[0].Index}..{entries[^1].Index}");
        }

        return ValueTask.CompletedTask;
    }

    // The simulator does not compact logs or install snapshots yet; issue 5's simulator work replaces these.
    public ValueTask CompactAsync(long throughIndex, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The simulator does not compact logs yet.");

    public ValueTask ResetAsync(long snapshotIndex, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The simulator does not install snapshots yet.");

    public ValueTask<IReadOnlyList<Entry>> ReadAsync(long fromIndex, long toIndexInclusive, CancellationToken cancellationToken = default) =>
        _durable.ReadAsync(fromIndex, toIndexInclusive, cancellationToken);

    /// <summary>Lying mode: the node crashed, so the appends that never reached the disk are gone.</summary>
    /// <returns>The first index lost, or 0 when nothing was.</returns>
    public long LoseUnsyncedWrites()
    {
        if (_trulyDurable >= _entries.Count)
        {
            return 0;
        }

        var lostFrom = _trulyDurable + 1;
        _entries.RemoveRange((int)_trulyDurable, _entries.Count - (int)_trulyDurable);
        _durable = new InMemoryLogStore(_entries);
        return lostFrom;
    }
}
