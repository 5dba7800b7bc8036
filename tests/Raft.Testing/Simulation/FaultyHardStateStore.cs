using Raft.Core.Messages;
using Raft.Core.Storage;

namespace Raft.Testing.Simulation;

/// <summary>
/// A node's durable hard state: an <see cref="InMemoryHardStateStore"/> that outlives the node's crashes, wrapped so
/// that a save can crash the node just before or just after it becomes durable, and so that the invariants see every
/// change. A save is atomic: the old state or the new one, never a mix.
/// </summary>
internal sealed class FaultyHardStateStore : IHardStateStore
{
    private readonly SimNode _owner;
    private readonly Simulator _sim;
    private readonly InMemoryHardStateStore _durable = new();

    public FaultyHardStateStore(SimNode owner, Simulator sim)
    {
        _owner = owner;
        _sim = sim;
    }

    /// <summary>What a restart would load.</summary>
    public HardState State => _durable.State;

    public ValueTask<HardState> LoadAsync(CancellationToken cancellationToken = default) => _durable.LoadAsync(cancellationToken);

    /// <summary>Lying-disk mode: the log lost its tail, and the commit index on this disk rolls back with it.</summary>
    public void RollBackCommitTo(long lastIndex)
    {
        var state = _durable.State;
        if (state.Commit > lastIndex)
        {
            _ = _durable.SaveAsync(state with { Commit = lastIndex });
        }
    }

    public ValueTask SaveAsync(HardState state, CancellationToken cancellationToken = default)
    {
        var fate = _owner.DecideWriteFate();
        if (fate == WriteFate.CrashBefore)
        {
            throw new SimulatedCrashException($"{_owner.Id} crashed before saving {state}");
        }

        _sim.BeforeDurableSave(_owner, _durable.State, state);
        var pending = _durable.SaveAsync(state, cancellationToken);
        if (!pending.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("InMemoryHardStateStore.SaveAsync did not complete synchronously.");
        }

        if (fate == WriteFate.CrashAfter)
        {
            throw new SimulatedCrashException($"{_owner.Id} crashed right after saving {state}");
        }

        return ValueTask.CompletedTask;
    }
}
