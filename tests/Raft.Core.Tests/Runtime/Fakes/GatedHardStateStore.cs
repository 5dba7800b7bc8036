using Raft.Core.Messages;
using Raft.Core.Storage;

namespace Raft.Core.Tests.Runtime.Fakes;

// An in-memory hard-state store that, once held, keeps every save that only moves the commit index (same term and
// vote as the last save) waiting until released; saves that change the term or the vote go through.
internal sealed class GatedHardStateStore : IHardStateStore
{
    private readonly InMemoryHardStateStore _inner = new();
    private HardState? _last;
    private int _held;

    public TaskCompletionSource? Gate { get; private set; }

    public int HeldSaves => Volatile.Read(ref _held);

    public TaskCompletionSource HoldCommitOnlySaves() => Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public ValueTask<HardState> LoadAsync(CancellationToken cancellationToken = default) => _inner.LoadAsync(cancellationToken);

    public async ValueTask SaveAsync(HardState state, CancellationToken cancellationToken = default)
    {
        if (Gate is { } gate && _last is { } last && last.Term == state.Term && last.VotedFor == state.VotedFor)
        {
            Interlocked.Increment(ref _held);
            await gate.Task.ConfigureAwait(false);
        }

        await _inner.SaveAsync(state, cancellationToken).ConfigureAwait(false);
        _last = state;
    }
}
