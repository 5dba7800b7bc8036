using Raft.Core.Messages;

namespace Raft.Core.Storage;

/// <summary>An <see cref="IHardStateStore"/> that keeps the state in memory: "durable" for as long as the instance lives.</summary>
/// <remarks>For tests, the simulator and benchmarks. Operations complete synchronously. Thread-safe.</remarks>
public sealed class InMemoryHardStateStore : IHardStateStore
{
    private readonly Lock _lock = new();
    private HardState _state;
    private long _saveCount;

    /// <summary>Creates a store holding <see cref="HardState.Empty"/>.</summary>
    public InMemoryHardStateStore()
    {
    }

    /// <summary>Creates a store holding <paramref name="state"/>, as if it had been saved.</summary>
    /// <param name="state">The initial state.</param>
    public InMemoryHardStateStore(HardState state)
    {
        _state = state;
    }

    /// <summary>The last saved state, read synchronously.</summary>
    public HardState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>How many times <see cref="SaveAsync"/> was called.</summary>
    public long SaveCount => Interlocked.Read(ref _saveCount);

    /// <inheritdoc />
    public ValueTask<HardState> LoadAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(State);
    }

    /// <inheritdoc />
    public ValueTask SaveAsync(HardState state, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            _state = state;
        }

        Interlocked.Increment(ref _saveCount);
        return ValueTask.CompletedTask;
    }
}
