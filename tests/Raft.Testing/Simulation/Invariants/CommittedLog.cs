using Raft.Core.Messages;

namespace Raft.Testing.Simulation.Invariants;

/// <summary>
/// The entries known to be committed anywhere in the cluster: learned from every node's commit index and its log,
/// each with the term in which the commitment was first seen.
/// </summary>
/// <remarks>
/// Committing index c commits every index up to c, so the known-committed entries form a prefix of the log, kept
/// here as a list (entry i at position i - 1). The term a commitment was first seen in is an upper bound of the term
/// it was committed in: a node learns a commit index only from its own term's leader, or as that leader. Leader
/// Completeness uses it to decide which leaders must hold the entry without ever asking too much.
/// </remarks>
public sealed class CommittedLog
{
    private readonly List<(Entry Entry, long SeenInTerm, string SeenAt)> _entries = [];

    /// <summary>The highest index known committed.</summary>
    public long LastIndex => _entries.Count;

    /// <summary>The committed entry at <paramref name="index"/> (1 to <see cref="LastIndex"/>).</summary>
    /// <param name="index">The log index.</param>
    /// <returns>The entry.</returns>
    public Entry this[long index] => _entries[(int)(index - 1)].Entry;

    /// <summary>The term in which the commitment of <paramref name="index"/> was first seen.</summary>
    /// <param name="index">The log index.</param>
    /// <returns>The term.</returns>
    public long SeenInTerm(long index) => _entries[(int)(index - 1)].SeenInTerm;

    /// <summary>Learns that <paramref name="nodeId"/>, in <paramref name="term"/>, considers its log committed up to <paramref name="commit"/>.</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="term">Its current term.</param>
    /// <param name="log">Its log (entry i at position i - 1); must reach <paramref name="commit"/>.</param>
    /// <param name="commit">Its commit index.</param>
    /// <param name="checkFrom">The lowest index whose agreement needs checking (indexes this node already confirmed are skipped).</param>
    /// <returns>The first index that became known committed now, or <see cref="LastIndex"/> + 1 when none did.</returns>
    /// <exception cref="InvariantViolationException">The node's committed prefix differs from another node's, or its log is shorter than its commit index.</exception>
    public long Learn(string nodeId, long term, IReadOnlyList<Entry> log, long commit, long checkFrom = 1)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (commit > log.Count)
        {
            throw new InvariantViolationException(
                StateMachineSafetyInvariant.Name, $"{nodeId}'s commit index {commit} is past the end of its durable log ({log.Count}).");
        }

        var known = Math.Min(commit, _entries.Count);
        for (var index = Math.Max(1, checkFrom); index <= known; index++)
        {
            var (entry, _, seenAt) = _entries[(int)(index - 1)];
            if (!EntryIdentity.Same(entry, log[(int)(index - 1)]))
            {
                throw new InvariantViolationException(
                    StateMachineSafetyInvariant.Name,
                    $"{nodeId} has {log[(int)(index - 1)]} committed at index {index}, but {seenAt} had committed {entry} there.");
            }
        }

        var firstNew = _entries.Count + 1;
        for (var index = _entries.Count + 1; index <= commit; index++)
        {
            _entries.Add((log[(int)(index - 1)], term, nodeId));
        }

        return firstNew;
    }
}
