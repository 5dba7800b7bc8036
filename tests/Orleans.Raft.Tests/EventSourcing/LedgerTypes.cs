using Orleans.EventSourcing;
using Orleans.Providers;

namespace Orleans.Raft.Tests.EventSourcing;

[GenerateSerializer]
public sealed class LedgerEntry
{
    [Id(0)]
    public int Amount { get; set; }
}

// The state keeps every amount in order, so a duplicated, lost or reordered event shows.
[GenerateSerializer]
public sealed class LedgerState
{
    [Id(0)]
    public long Total { get; set; }

    [Id(1)]
    public List<int> Amounts { get; set; } = [];

    public void Apply(LedgerEntry entry)
    {
        Total += entry.Amount;
        Amounts.Add(entry.Amount);
    }
}

public interface ILedgerGrain : IGrainWithStringKey
{
    Task<int> Add(int amount);

    Task<int> AddMany(int[] amounts);

    Task<bool> AddIfAtVersion(int amount);

    Task<LedgerState> GetState();

    Task<int> GetVersion();

    Task<int[]> Events(int from, int to);

    Task Clear();

    Task<string> SiloName();
}

[LogConsistencyProvider(ProviderName = EventSourcingCluster.ProviderName)]
public sealed class LedgerGrain(ILocalSiloDetails silo) : JournaledGrain<LedgerState, LedgerEntry>, ILedgerGrain
{
    public async Task<int> Add(int amount)
    {
        RaiseEvent(new LedgerEntry { Amount = amount });
        await ConfirmEvents();
        return Version;
    }

    public async Task<int> AddMany(int[] amounts)
    {
        RaiseEvents(amounts.Select(a => new LedgerEntry { Amount = a }));
        await ConfirmEvents();
        return Version;
    }

    public Task<bool> AddIfAtVersion(int amount) => RaiseConditionalEvent(new LedgerEntry { Amount = amount });

    public Task<LedgerState> GetState() => Task.FromResult(State);

    public Task<int> GetVersion() => Task.FromResult(Version);

    public async Task<int[]> Events(int from, int to) => [.. (await RetrieveConfirmedEvents(from, to)).Select(e => e.Amount)];

    public Task Clear() => ClearLogAsync(CancellationToken.None);

    public Task<string> SiloName() => Task.FromResult(silo.Name);
}

public interface ISchedulerProbeGrain : IGrainWithStringKey
{
    Task<int> Add(int amount);

    // How many times the grain's own TransitionState ran outside the activation's scheduler.
    Task<int> TransitionsOutsideTheActivation();
}

// A JournaledGrain whose TransitionState notes where it runs: grain code must only ever run on its activation's
// scheduler (one turn at a time), never on a pool thread beside the grain's other turns.
[LogConsistencyProvider(ProviderName = EventSourcingCluster.ProviderName)]
public sealed class SchedulerProbeGrain : JournaledGrain<LedgerState, LedgerEntry>, ISchedulerProbeGrain
{
    private int _outside;

    public async Task<int> Add(int amount)
    {
        RaiseEvent(new LedgerEntry { Amount = amount });
        await ConfirmEvents();
        return Version;
    }

    public Task<int> TransitionsOutsideTheActivation() => Task.FromResult(Volatile.Read(ref _outside));

    protected override void TransitionState(LedgerState state, LedgerEntry @event)
    {
        if (TaskScheduler.Current == TaskScheduler.Default)
        {
            Interlocked.Increment(ref _outside);
        }

        state.Apply(@event);
    }
}
