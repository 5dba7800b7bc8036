using Orleans.Raft.StateMachine;
using Orleans.Raft.Storage;

namespace Orleans.Raft.EventSourcing;

// The event journal over a Raft grain storage provider's replicated journal keyspace.
internal sealed class RaftEventJournal(RaftGrainStorage storage) : IEventJournal
{
    public async Task<EventJournalState> ReadAsync(GrainStateKey key, CancellationToken cancellationToken)
    {
        var view = await storage.ReadJournalAsync(key, cancellationToken).ConfigureAwait(false);
        return new EventJournalState(
            view.Exists, view.ETag, view.Incarnation, view.Count, view.FirstRetained, view.Records, view.Snapshot, view.SnapshotCount, view.Properties);
    }

    public async Task<IReadOnlyList<ReadOnlyMemory<byte>>> ReadRangeAsync(GrainStateKey key, long from, long to, CancellationToken cancellationToken)
    {
        try
        {
            return await storage.ReadJournalRangeAsync(key, from, to, cancellationToken).ConfigureAwait(false);
        }
        catch (RaftJournalRangeException ex) when (from < ex.FirstRetained)
        {
            throw new RaftEventHistoryTrimmedException(
                $"Events [{from}, {to}) of {key} were requested, but the journal keeps events from {ex.FirstRetained} on: RaftLogConsistencyOptions.TrimHistory drops the events before each snapshot. Turn it off to keep the whole history.",
                ex);
        }
    }

    public async Task<JournalWriteOutcome> AppendAsync(
        GrainStateKey key,
        long expectedETag,
        IReadOnlyList<ReadOnlyMemory<byte>> records,
        IReadOnlyDictionary<string, string>? setProperties,
        CancellationToken cancellationToken)
    {
        try
        {
            return JournalWriteOutcome.Done(
                await storage.AppendJournalAsync(key, expectedETag, records, setProperties, cancellationToken).ConfigureAwait(false));
        }
        catch (RaftJournalConflictException ex)
        {
            return JournalWriteOutcome.Conflict(ex.StoredETag);
        }
    }

    public async Task<JournalWriteOutcome> DeleteAsync(GrainStateKey key, long expectedETag, CancellationToken cancellationToken)
    {
        try
        {
            return JournalWriteOutcome.Done(await storage.DeleteJournalAsync(key, expectedETag, cancellationToken).ConfigureAwait(false));
        }
        catch (RaftJournalConflictException ex)
        {
            return JournalWriteOutcome.Conflict(ex.StoredETag);
        }
    }

    public Task<JournalSnapshotOutcome> SaveSnapshotAsync(
        GrainStateKey key, long incarnation, long atCount, ReadOnlyMemory<byte> snapshot, bool trimHistory, CancellationToken cancellationToken) =>
        storage.SaveJournalSnapshotAsync(key, incarnation, atCount, snapshot, trimHistory, cancellationToken);
}
