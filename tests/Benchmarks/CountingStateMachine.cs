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
}
