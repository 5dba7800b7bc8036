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
}
