using Raft.Core.Messages;

namespace Raft.Core.Storage;

/// <summary>The durable Raft log, written by one node's consensus loop.</summary>
/// <remarks>
/// Contract (every implementation passes the shared conformance suite in Raft.Testing):
/// <list type="bullet">
/// <item><description>Durable on completion: when <see cref="AppendAsync"/> completes, the entries survive a crash
/// or power loss (fsync or equivalent). A node acknowledges entries to the leader only after that.</description></item>
/// <item><description>Consecutive: the first entry's index is at most <c>LastIndex + 1</c> and the entries are
/// consecutive. When it is at most <c>LastIndex</c>, the entries from that index on are replaced atomically
/// with the new ones: after a crash the log is either the old one or the new one, never a mix with a hole.</description></item>
/// <item><description>One writer: the host never calls <see cref="AppendAsync"/> concurrently with itself.</description></item>
/// <item><description>Failure: an exception means the state of the last append is unknown; the node must stop,
/// never continue on a guess.</description></item>
/// </list>
/// </remarks>
public interface ILogStore : ILogReader
{
    /// <summary>Appends <paramref name="entries"/>, replacing any entries from <c>entries[0].Index</c> on, and makes them durable.</summary>
    /// <param name="entries">Consecutive entries; may be empty (then nothing happens).</param>
    /// <param name="cancellationToken">Cancels the wait; the append may still have happened.</param>
    /// <returns>A task that completes when the entries are durable.</returns>
    /// <exception cref="ArgumentException">The entries are not consecutive, or would leave a hole after <see cref="ILogReader.LastIndex"/>.</exception>
    ValueTask AppendAsync(IReadOnlyList<Entry> entries, CancellationToken cancellationToken = default);

    /// <summary>
    /// Entries up to <paramref name="throughIndex"/> are covered by a durable snapshot and may be discarded. Discarding
    /// may be lazy (whole segments), so <see cref="ILogReader.FirstIndex"/> may stay lower; entries after
    /// <paramref name="throughIndex"/> are never discarded.
    /// </summary>
    /// <param name="throughIndex">The last index the snapshot covers that may go.</param>
    /// <param name="cancellationToken">Cancels the wait.</param>
    /// <returns>A task that completes when the compaction is recorded.</returns>
    ValueTask CompactAsync(long throughIndex, CancellationToken cancellationToken = default);

    /// <summary>
    /// Discards the whole log, durably, because a snapshot at <paramref name="snapshotIndex"/> replaces it (a follower
    /// installing a snapshot from the leader). Afterwards <see cref="ILogReader.FirstIndex"/> is
    /// <c>snapshotIndex + 1</c>, <see cref="ILogReader.LastIndex"/> is <paramref name="snapshotIndex"/>, and the next
    /// append starts at <c>snapshotIndex + 1</c>.
    /// </summary>
    /// <param name="snapshotIndex">The index of the installed snapshot.</param>
    /// <param name="cancellationToken">Cancels the wait; the reset may still have happened.</param>
    /// <returns>A task that completes when the reset is durable.</returns>
    ValueTask ResetAsync(long snapshotIndex, CancellationToken cancellationToken = default);
}
