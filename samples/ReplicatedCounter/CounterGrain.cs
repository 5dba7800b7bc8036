namespace ReplicatedCounter;

[GenerateSerializer]
public sealed class CounterState
{
    [Id(0)]
    public long Value { get; set; }
}

public interface ICounterGrain : IGrainWithStringKey
{
    /// <summary>Adds one and stores it; returns once the Raft group committed the write.</summary>
    Task<long> Increment();

    /// <summary>Reads the stored value again (a linearizable read through this silo's Raft node).</summary>
    Task<long> ReadStored();
}

public sealed class CounterGrain([PersistentState("counter", "raft")] IPersistentState<CounterState> state) : Grain, ICounterGrain
{
    public async Task<long> Increment()
    {
        state.State.Value++;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // The write failed or its outcome is unknown: this activation's copy can no longer be trusted, so the next
            // call gets a fresh activation that reads the stored value.
            DeactivateOnIdle();
            throw;
        }

        return state.State.Value;
    }

    public async Task<long> ReadStored()
    {
        await state.ReadStateAsync();
        return state.State.Value;
    }
}
