using Orleans.Raft.Placement;

namespace Benchmarks.Orleans;

/// <summary>The benchmark's grain state: one counter.</summary>
[GenerateSerializer]
public sealed class BenchCounterState
{
    /// <summary>The count.</summary>
    [Id(0)]
    public long Value { get; set; }
}

/// <summary>A counter whose every increment is a storage write.</summary>
public interface IBenchCounterGrain : IGrainWithIntegerKey
{
    /// <summary><c>State.Value++; await WriteStateAsync()</c>.</summary>
    /// <returns>The new value.</returns>
    Task<long> Increment();
}

/// <summary>A counter stored by the provider named <c>raft</c>.</summary>
public interface IRaftBenchCounterGrain : IBenchCounterGrain;

/// <summary>A counter stored by the provider named <c>raft</c>, activated on the Raft leader's silo.</summary>
public interface ILeaderPlacedRaftBenchCounterGrain : IBenchCounterGrain;

/// <summary>A counter stored by the provider named <c>memory</c>.</summary>
public interface IMemoryBenchCounterGrain : IBenchCounterGrain;

/// <summary>The counter on the Raft provider.</summary>
public sealed class RaftBenchCounterGrain([PersistentState("counter", OrleansBenchmark.RaftProvider)] IPersistentState<BenchCounterState> state)
    : Grain, IRaftBenchCounterGrain
{
    /// <inheritdoc />
    public Task<long> Increment() => BenchCounter.IncrementAsync(state, DeactivateOnIdle);
}

/// <summary>The counter on the Raft provider, placed with <see cref="RaftLeaderPlacementAttribute"/> (<c>--raft-placement leader</c>).</summary>
[RaftLeaderPlacement(OrleansBenchmark.RaftProvider)]
public sealed class LeaderPlacedRaftBenchCounterGrain(
    [PersistentState("counter", OrleansBenchmark.RaftProvider)] IPersistentState<BenchCounterState> state) : Grain, ILeaderPlacedRaftBenchCounterGrain
{
    /// <inheritdoc />
    public Task<long> Increment() => BenchCounter.IncrementAsync(state, DeactivateOnIdle);
}

/// <summary>The counter on Orleans' in-memory storage.</summary>
public sealed class MemoryBenchCounterGrain([PersistentState("counter", OrleansBenchmark.MemoryProvider)] IPersistentState<BenchCounterState> state)
    : Grain, IMemoryBenchCounterGrain
{
    /// <inheritdoc />
    public Task<long> Increment() => BenchCounter.IncrementAsync(state, DeactivateOnIdle);
}

internal static class BenchCounter
{
    public static async Task<long> IncrementAsync(IPersistentState<BenchCounterState> state, Action deactivateOnIdle)
    {
        state.State.Value++;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // A failed or unknown write leaves this activation's copy untrustworthy: the next call re-reads it.
            deactivateOnIdle();
            throw;
        }

        return state.State.Value;
    }
}
