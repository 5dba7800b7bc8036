using Raft.Core.Messages;
using Raft.Core.Storage;

namespace Raft.Core.Tests.Runtime.Fakes;

// An in-memory log store whose appends take up to `maxDelayMilliseconds`, some of it holding the calling thread (as an
// fsync does) and some of it not, so that a leader's loop steps its followers' answers while its own writes run.
internal sealed class DelayingLogStore(int maxDelayMilliseconds, int seed) : ILogStore
{
    private readonly InMemoryLogStore _inner = new();
    private readonly Random _random = new(seed);

    public long FirstIndex => _inner.FirstIndex;

    public long LastIndex => _inner.LastIndex;

    public async ValueTask AppendAsync(IReadOnlyList<Entry> entries, CancellationToken cancellationToken = default)
    {
        int held, awaited;
        lock (_random)
        {
            held = _random.Next(0, maxDelayMilliseconds + 1);
            awaited = _random.Next(0, maxDelayMilliseconds + 1);
        }

        Thread.Sleep(held / 2);
        await Task.Delay(awaited / 2, cancellationToken).ConfigureAwait(false);
        await _inner.AppendAsync(entries, cancellationToken).ConfigureAwait(false);
    }

    public ValueTask CompactAsync(long throughIndex, CancellationToken cancellationToken = default) =>
        _inner.CompactAsync(throughIndex, cancellationToken);

    public ValueTask ResetAsync(long snapshotIndex, CancellationToken cancellationToken = default) =>
        _inner.ResetAsync(snapshotIndex, cancellationToken);

    public ValueTask<IReadOnlyList<Entry>> ReadAsync(long fromIndex, long toIndexInclusive, CancellationToken cancellationToken = default) =>
        _inner.ReadAsync(fromIndex, toIndexInclusive, cancellationToken);
}
