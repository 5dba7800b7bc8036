using Raft.Core.Messages;
using Raft.Core.StateMachine;

namespace Benchmarks;

/// <summary>The trivial state machine of the benchmark: counts commands and answers with nothing.</summary>
internal sealed class CountingStateMachine : IStateMachine
{
    private long _applied;

    public long Applied => Interlocked.Read(ref _applied);

    public ValueTask<ReadOnlyMemory<byte>> ApplyAsync(Entry entry, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _applied);
        return ValueTask.FromResult(ReadOnlyMemory<byte>.Empty);
    }

    public async ValueTask WriteSnapshotAsync(Stream destination, CancellationToken cancellationToken = default) =>
        await destination.WriteAsync(BitConverter.GetBytes(Applied), cancellationToken).ConfigureAwait(false);

    public async ValueTask RestoreSnapshotAsync(Stream source, CancellationToken cancellationToken = default)
    {
        var buffer = new byte[8];
        await source.ReadExactlyAsync(buffer, cancellationToken).ConfigureAwait(false);
        Interlocked.Exchange(ref _applied, BitConverter.ToInt64(buffer));
    }
}
