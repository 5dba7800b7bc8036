using Orleans.Raft.EventSourcing;
using Orleans.Raft.StateMachine;
using Orleans.Raft.Storage;

namespace Orleans.Raft.Tests.EventSourcing;

// One activation's view of a shared journal whose reads can be held back, so a test can let another activation act
// between this one's lost answer and its re-read, and whose snapshots can be held back, so another activation can clear
// and rewrite the journal between this one's append and its snapshot.
internal sealed class GatedEventJournal(IEventJournal inner) : IEventJournal
{
    private TaskCompletionSource? _gate;
    private TaskCompletionSource? _snapshotGate;

    public void Close() => _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Open() => _gate?.TrySetResult();

    // Completes when a held snapshot arrived; its outcome once released.
    public TaskCompletionSource SnapshotArrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource<JournalSnapshotOutcome> SnapshotOutcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void HoldSnapshots() => _snapshotGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

    public void ReleaseSnapshots() => _snapshotGate?.TrySetResult();

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

    public async Task<JournalSnapshotOutcome> SaveSnapshotAsync(
        GrainStateKey key, long incarnation, long atCount, ReadOnlyMemory<byte> snapshot, bool trimHistory, CancellationToken cancellationToken)
    {
        if (_snapshotGate is not { } gate)
        {
            return await inner.SaveSnapshotAsync(key, incarnation, atCount, snapshot, trimHistory, cancellationToken);
        }

        SnapshotArrived.TrySetResult();
        await gate.Task;
        var outcome = await inner.SaveSnapshotAsync(key, incarnation, atCount, snapshot, trimHistory, cancellationToken);
        SnapshotOutcome.TrySetResult(outcome);
        return outcome;
    }
}
