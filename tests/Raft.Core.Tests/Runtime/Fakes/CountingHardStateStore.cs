using Raft.Core.Messages;
using Raft.Core.Storage;

namespace Raft.Core.Tests.Runtime.Fakes;

// An in-memory hard-state store that counts the saves which only move the commit index (same term and vote as the
// save before).
internal sealed class CountingHardStateStore : IHardStateStore
{
    private readonly InMemoryHardStateStore _inner = new();
    private HardState? _last;
    private int _commitOnly;

    public int CommitOnlySaves => Volatile.Read(ref _commitOnly);

    public ValueTask<HardState> LoadAsync(CancellationToken cancellationToken = default) => _inner.LoadAsync(cancellationToken);

    public async ValueTask SaveAsync(HardState state, CancellationToken cancellationToken = default)
    {
        if (_last is { } last && last.Term == state.Term && last.VotedFor == state.VotedFor)
        {
            Interlocked.Increment(ref _commitOnly);
        }

        await _inner.SaveAsync(state, cancellationToken).ConfigureAwait(false);
        _last = state;
    }
}
