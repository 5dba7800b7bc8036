using Orleans.Raft.EventSourcing;
using Orleans.Raft.StateMachine;

namespace Orleans.Raft.Tests.EventSourcing;

// One activation's view of a shared journal whose reads can be held back, so a test can let another activation act
// between this one's lost answer and its re-read.
internal sealed class GatedEventJournal(IEventJournal inner) : IEventJournal
{
    private TaskCompletionSource? _gate;

    public void Close() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Open() => _gate?.TrySetResult();

    public async Task<EventJournalState> ReadAsync(GrainStateKey key, CancellationToken cancellationToken)
    {
        if (_gate is { } gate)
        {
            await gate.Task;
        }

        return await inner.ReadAsync(key, cancellationToken);
    }

    public Task<IReadOnlyList<ReadOnlyMemory<byte>>> ReadRangeAsync(GrainStateKey key, long from, long to, CancellationToken cancellationToken) =>
        inner.ReadRangeAsync(key, from, to, cancellationToken);

    public Task<JournalWriteOutcome> AppendAsync(
        GrainStateKey key, long expectedETag, IReadOnlyList<ReadOnlyMemory<byte>> records, IReadOnlyDictionary<string, string>? setProperties, CancellationToken cancellationToken) =>
        inner.AppendAsync(key, expectedETag, records, setProperties, cancellationToken);

    public Task<JournalWriteOutcome> DeleteAsync(GrainStateKey key, long expectedETag, CancellationToken cancellationToken) =>
        inner.DeleteAsync(key, expectedETag, cancellationToken);

    public Task SaveSnapshotAsync(GrainStateKey key, long atCount, ReadOnlyMemory<byte> snapshot, bool trimHistory, CancellationToken cancellationToken) =>
        inner.SaveSnapshotAsync(key, atCount, snapshot, trimHistory, cancellationToken);
}
