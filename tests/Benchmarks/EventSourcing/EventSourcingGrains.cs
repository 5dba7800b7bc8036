using Orleans.EventSourcing;
using Orleans.Providers;

namespace Benchmarks.EventSourcing;

[GenerateSerializer]
public sealed class BenchDeposited
{
    [Id(0)]
    public int Amount { get; set; }
}

[GenerateSerializer]
public sealed class BenchAccountState
{
    [Id(0)]
    public long Balance { get; set; }

    public void Apply(BenchDeposited e) => Balance += e.Amount;
}

public interface IEventSourcedBenchGrain : IGrainWithStringKey
{
    // One event per call: RaiseEvent + ConfirmEvents.
    Task<int> Deposit(int amount);

    // Prefill: count events in one ConfirmEvents.
    Task<int> DepositMany(int count);
}

public interface IRaftJournalBenchGrain : IEventSourcedBenchGrain;

public interface ILogStorageBenchGrain : IEventSourcedBenchGrain;

public abstract class EventSourcedBenchGrain : JournaledGrain<BenchAccountState, BenchDeposited>, IEventSourcedBenchGrain
{
    public async Task<int> Deposit(int amount)
    {
        RaiseEvent(new BenchDeposited { Amount = amount });
        await ConfirmEvents();
        return Version;
    }

    public async Task<int> DepositMany(int count)
    {
        RaiseEvents(Enumerable.Range(0, count).Select(_ => new BenchDeposited { Amount = 1 }));
        await ConfirmEvents();
        return Version;
    }
}

// Events appended to the grain's replicated journal (Orleans.Raft's log-consistency provider).
[LogConsistencyProvider(ProviderName = EventSourcingBenchmark.RaftProvider)]
public sealed class RaftJournalBenchGrain : EventSourcedBenchGrain, IRaftJournalBenchGrain;

// Orleans' LogStorage provider: the whole event list rewritten through the Raft grain storage on every confirm.
[LogConsistencyProvider(ProviderName = EventSourcingBenchmark.LogStorageProvider)]
[StorageProvider(ProviderName = EventSourcingBenchmark.GrainStorage)]
public sealed class LogStorageBenchGrain : EventSourcedBenchGrain, ILogStorageBenchGrain;
