using Orleans.Raft.Placement;

namespace Orleans.Raft.Tests;

public interface ILeaderPlacedGrain : IGrainWithStringKey
{
    Task<int> Increment();

    Task<string> SiloName();
}

// Placed on the Raft leader's silo; its state is on the same provider.
[RaftLeaderPlacement(RaftTestCluster.ProviderName)]
public sealed class LeaderPlacedGrain(
    [PersistentState("s", RaftTestCluster.ProviderName)] IPersistentState<CounterState> state,
    ILocalSiloDetails silo) : Grain, ILeaderPlacedGrain
{
    public async Task<int> Increment()
    {
        state.State.Value++;
        await state.WriteStateAsync();
        return state.State.Value;
    }

    public Task<string> SiloName() => Task.FromResult(silo.Name);
}

public interface IStatelessLeaderPlacedGrain : IGrainWithStringKey
{
    Task<string> SiloName();
}

// Leader placement without state: it activates even while the Raft group has no leader (no read at activation).
[RaftLeaderPlacement(RaftTestCluster.ProviderName)]
public sealed class StatelessLeaderPlacedGrain(ILocalSiloDetails silo) : Grain, IStatelessLeaderPlacedGrain
{
    public Task<string> SiloName() => Task.FromResult(silo.Name);
}

public interface IMisnamedLeaderPlacedGrain : IGrainWithStringKey
{
    Task<string> SiloName();
}

// Names a storage that no silo has: placed randomly.
[RaftLeaderPlacement("no-such-storage")]
public sealed class MisnamedLeaderPlacedGrain(ILocalSiloDetails silo) : Grain, IMisnamedLeaderPlacedGrain
{
    public Task<string> SiloName() => Task.FromResult(silo.Name);
}
