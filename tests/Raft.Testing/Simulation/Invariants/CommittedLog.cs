using Raft.Core.Membership;
using Raft.Core.Messages;

namespace Raft.Testing.Simulation.Invariants;

/// <summary>
/// The entries known to be committed anywhere in the cluster: learned from every node's commit index and its log,
/// each with the term in which the commitment was first seen; and the configurations those entries put in force.
/// </summary>
/// <remarks>
/// Committing index c commits every index up to c, so the known-committed entries form a prefix of the log, kept
/// here as a list (entry i at position i - 1). The term a commitment was first seen in is an upper bound of the term
/// it was committed in: a node learns a commit index only from its own term's leader, or as that leader. Leader
/// Completeness uses it to decide which leaders must hold the entry without ever asking too much, and the durability
/// check which writes may not replace it.
/// A node whose log was compacted can only confirm the entries it still holds; entries a snapshot covers were learned
/// earlier from the node that applied them (the simulator learns every commit before anything is applied or compacted).
/// </remarks>
public sealed class CommittedLog
{
    /// <summary>The name reported when a snapshot does not match the committed log.</summary>
    public const string SnapshotName = "Snapshots hold committed state only (§7)";

    private readonly List<(Entry Entry, long SeenInTerm, string SeenAt)> _entries = [];
    private readonly List<(long Index, ClusterConfiguration Configuration)> _configurations = [];
    private readonly ClusterConfiguration _initial;

    /// <summary>Creates an empty committed log for a cluster that starts with <paramref name="initial"/>.</summary>
    /// <param name="initial">The configuration before any configuration entry; null (no members) when membership does not matter.</param>
    public CommittedLog(ClusterConfiguration? initial = null)
    {
        _initial = initial ?? new ClusterConfiguration([]);
    }

    /// <summary>The highest index known committed.</summary>
    public long LastIndex => _entries.Count;

    /// <summary>The configuration in force at <see cref="LastIndex"/>.</summary>
    public ClusterConfiguration Configuration => _configurations.Count > 0 ? _configurations[^1].Configuration : _initial;

    /// <summary>How many configuration entries are known committed.</summary>
    public int ConfigurationChanges => _configurations.Count;

    /// <summary>The committed entry at <paramref name="index"/> (1 to <see cref="LastIndex"/>).</summary>
    /// <param name="index">The log index.</param>
    /// <returns>The entry.</returns>
    public Entry this[long index] => _entries[(int)(index - 1)].Entry;

    /// <summary>The term in which the commitment of <paramref name="index"/> was first seen.</summary>
    /// <param name="index">The log index.</param>
    /// <returns>The term.</returns>
    public long SeenInTerm(long index) => _entries[(int)(index - 1)].SeenInTerm;

    /// <summary>The configuration in force at <paramref name="index"/> (at most <see cref="LastIndex"/>).</summary>
    /// <param name="index">The log index.</param>
    /// <returns>The configuration of the last configuration entry at or before it, else the initial one.</returns>
    public ClusterConfiguration ConfigurationAt(long index)
    {
        for (var i = _configurations.Count - 1; i >= 0; i--)
        {
            if (_configurations[i].Index <= index)
            {
                return _configurations[i].Configuration;
            }
        }

        return _initial;
    }

    /// <summary>Learns that <paramref name="nodeId"/>, in <paramref name="term"/>, considers its log committed up to <paramref name="commit"/>.</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="term">Its current term.</param>
    /// <param name="log">Its log; must reach <paramref name="commit"/>.</param>
    /// <param name="commit">Its commit index.</param>
    /// <param name="checkFrom">The lowest index whose agreement needs checking (indexes this node already confirmed are skipped).</param>
    /// <returns>The first index that became known committed now, or <see cref="LastIndex"/> + 1 when none did.</returns>
    /// <exception cref="InvariantViolationException">The node's committed prefix differs from another node's, or its log is shorter than its commit index.</exception>
    public long Learn(string nodeId, long term, ILogView log, long commit, long checkFrom = 1)
    {
        ArgumentNullException.ThrowIfNull(log);
        if (commit > log.LastIndex)
        {
            throw new InvariantViolationException(
                StateMachineSafetyInvariant.Name, $"{nodeId}'s commit index {commit} is past the end of its durable log ({log.LastIndex}).");
        }

        var known = Math.Min(commit, _entries.Count);
        for (var index = Math.Max(Math.Max(1, checkFrom), log.BaseIndex + 1); index <= known; index++)
        {
            var (entry, _, seenAt) = _entries[(int)(index - 1)];
            var held = log.At(index)!;
            if (!EntryIdentity.Same(entry, held))
            {
                throw new InvariantViolationException(
                    StateMachineSafetyInvariant.Name,
                    $"{nodeId} has {held} committed at index {index}, but {seenAt} had committed {entry} there.");
            }
        }

        var firstNew = _entries.Count + 1;
        for (var index = _entries.Count + 1; index <= commit; index++)
        {
            // A snapshot covers it here; whoever applied it first committed it before, so it must be known already.
            var entry = log.At(index) ?? throw new InvariantViolationException(
                SnapshotName,
                $"{nodeId} has commit index {commit} but its log starts after {log.BaseIndex}, and index {index} was never seen committed: " +
                "a snapshot covers entries nobody committed.");
            _entries.Add((entry, term, nodeId));
            if (entry.Type == EntryType.ConfigChange)
            {
                _configurations.Add((index, ClusterConfiguration.Decode(entry.Data.Span)));
            }
        }

        return firstNew;
    }

    /// <summary>Checks that a snapshot covers a committed prefix: its last entry and configuration are the committed ones.</summary>
    /// <param name="nodeId">The node holding the snapshot.</param>
    /// <param name="snapshot">What the snapshot says it covers.</param>
    /// <exception cref="InvariantViolationException">The snapshot covers entries not known committed, or disagrees with them.</exception>
    public void CheckSnapshot(string nodeId, SnapshotMetadata snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (snapshot.Index > LastIndex)
        {
            throw new InvariantViolationException(
                SnapshotName, $"{nodeId} holds a snapshot through {snapshot.Index}/{snapshot.Term}, but only {LastIndex} entries are known committed.");
        }

        if (snapshot.Index == 0)
        {
            return;
        }

        var entry = this[snapshot.Index];
        if (entry.Term != snapshot.Term)
        {
            throw new InvariantViolationException(
                SnapshotName, $"{nodeId} holds a snapshot through {snapshot.Index}/{snapshot.Term}, but the committed entry there is {entry}.");
        }

        var configuration = ConfigurationAt(snapshot.Index);
        if (!configuration.Equals(snapshot.Configuration))
        {
            throw new InvariantViolationException(
                SnapshotName,
                $"{nodeId} holds a snapshot through {snapshot.Index} with configuration {snapshot.Configuration}, but the committed configuration there is {configuration}.");
        }
    }
}
