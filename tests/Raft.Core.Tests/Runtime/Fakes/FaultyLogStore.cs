using Raft.Core.Messages;
using Raft.Core.Storage;

namespace Raft.Core.Tests.Runtime.Fakes;

// An in-memory log store that can be told to fail, or to hold appends until released; records every batch size.
public sealed class FaultyLogStore : ILogStore
{
    private readonly InMemoryLogStore _inner = new();
    private readonly Lock _lock = new();
    private readonly List<int> _batchSizes = [];

    private int _waiting;

    public Exception? FailWith { get; set; }

    public int WaitingAppends => Volatile.Read(ref _waiting);

    public TaskCompletionSource? Gate { get; set; }

    // Runs as a held append starts waiting, on the thread that called AppendAsync.
    public Action? OnHeld { get; set; }

    public IReadOnlyList<int> BatchSizes
    {
        get
        {
            lock (_lock)
            {
                return [.. _batchSizes];
            }
        }
    }

    public long FirstIndex => _inner.FirstIndex;

    public ValueTask CompactAsync(long throughIndex, CancellationToken cancellationToken = default) =>
        _inner.CompactAsync(throughIndex, cancellationToken);

    public ValueTask ResetAsync(long snapshotIndex, CancellationToken cancellationToken = default) =>
        _inner.ResetAsync(snapshotIndex, cancellationToken);

    public long LastIndex => _inner.LastIndex;

    public TaskCompletionSource HoldAppends()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Gate = gate;
        return gate;
    }

    public async ValueTask AppendAsync(IReadOnlyList<Entry> entries, CancellationToken cancellationToken = default)
    {
        if (Gate is { } gate)
        {
            Interlocked.Increment(ref _waiting);
            OnHeld?.Invoke();
            await gate.Task;
            Interlocked.Decrement(ref _waiting);
        }

        if (FailWith is { } failure)
        {
            throw failure;
        }

        lock (_lock)
        {
            _batchSizes.Add(entries.Count);
        }

        await _inner.AppendAsync(entries, cancellationToken);
    }

    public ValueTask<IReadOnlyList<Entry>> ReadAsync(long fromIndex, long toIndexInclusive, CancellationToken cancellationToken = default) =>
        _inner.ReadAsync(fromIndex, toIndexInclusive, cancellationToken);
}
