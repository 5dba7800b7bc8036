namespace Orleans.Raft.Tests;

[GenerateSerializer]
public sealed class CounterState
{
    [Id(0)]
    public int Value { get; set; }

    [Id(1)]
    public string Payload { get; set; } = "";
}

public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> Increment();

    Task<int> Get();

    Task<string?> GetETag();

    Task<bool> RecordExists();

    Task Clear();

    Task SetPayload(string payload);

    Task<string> SiloName();
}

public sealed class CounterGrain(
    [PersistentState("s", RaftTestCluster.ProviderName)] IPersistentState<CounterState> state,
    ILocalSiloDetails silo) : Grain, ICounterGrain
{
    public async Task<int> Increment()
    {
        state.State.Value++;
        await state.WriteStateAsync();
        return state.State.Value;
    }

    public Task<int> Get() => Task.FromResult(state.State.Value);

    public Task<string?> GetETag() => Task.FromResult(state.Etag);

    public Task<bool> RecordExists() => Task.FromResult(state.RecordExists);

    public Task Clear() => state.ClearStateAsync();

    public async Task SetPayload(string payload)
    {
        state.State.Payload = payload;
        await state.WriteStateAsync();
    }

    public Task<string> SiloName() => Task.FromResult(silo.Name);
}

// An IGrainState for calling the provider directly, with a non-null State.
public sealed class TestState(CounterState? state = null) : IGrainState<CounterState>
{
    public CounterState State { get; set; } = state ?? new CounterState();

    CounterState? IGrainState<CounterState>.State
    {
        get => State;
        set => State = value ?? new CounterState();
    }

    public string? ETag { get; set; }

    public bool RecordExists { get; set; }
}
