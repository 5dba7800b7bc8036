namespace ReplicatedCounter;

[GenerateSerializer]
public sealed class CounterState
{
    [Id(0)]
    public long Value { get; set; }
}

// A grain type name of its own: the test project, which references this sample, has a CounterGrain too.
[GrainType("replicated-counter")]
public sealed class CounterGrain([PersistentState("counter", "raft")] IPersistentState<CounterState> state, ILocalSiloDetails silo)
    : Grain, ICounterGrain
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

    public Task<string> SiloName() => Task.FromResult(silo.Name);
}
