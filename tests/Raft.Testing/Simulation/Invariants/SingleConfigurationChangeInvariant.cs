using Raft.Core.Messages;

namespace Raft.Testing.Simulation.Invariants;

/// <summary>
/// One membership change at a time (thesis §4.1): a leader's log holds at most one configuration entry past the
/// committed index, so the old and new majorities always overlap.
/// </summary>
/// <remarks>
/// Measured against the cluster's known-committed index, not the leader's own: a new leader may not have learned yet
/// that its predecessor's change committed, and must not be blamed for an entry it did not append.
/// <para>
/// Checked after every event, so each leader's log is scanned once, not once per event: a leader whose entries do not
/// commit (cut off, or without a quorum) would otherwise cost a scan of its whole uncommitted tail per event, and a
/// run's time would grow with the square of that tail. What was scanned is trusted only while the leader's log still
/// holds the same last scanned entry; anything else (a new leader, a new term, a log shortened or rewritten under the
/// check) scans again from the committed index.
/// </para>
/// </remarks>
public sealed class SingleConfigurationChangeInvariant
{
    /// <summary>The name reported on a violation.</summary>
    public const string Name = "At most one configuration change pending (§4.1)";

    // Per node: two nodes may both lead at once, in different terms, and each keeps its own scan.
    private readonly Dictionary<string, Scan> _scans = [];

    /// <summary>Checks the leader <paramref name="nodeId"/>'s log past <paramref name="committedIndex"/>.</summary>
    /// <param name="nodeId">The leader.</param>
    /// <param name="term">Its term.</param>
    /// <param name="log">Its log.</param>
    /// <param name="committedIndex">The highest index known committed anywhere.</param>
    /// <exception cref="InvariantViolationException">Two or more configuration entries are uncommitted.</exception>
    public void ObserveLeader(string nodeId, long term, ILogView log, long committedIndex)
    {
        ArgumentNullException.ThrowIfNull(log);
        var floor = Math.Max(committedIndex, log.BaseIndex);
        if (!_scans.TryGetValue(nodeId, out var scan) || !scan.Continues(term, log))
        {
            scan = new Scan(term, floor);
            _scans[nodeId] = scan;
        }

        if (scan.Pending is { } pending && pending.Index <= floor)
        {
            scan.Pending = null;
        }

        for (var index = Math.Max(scan.Through, floor) + 1; index <= log.LastIndex; index++)
        {
            var entry = log.At(index)!;
            if (entry.Type == EntryType.ConfigChange)
            {
                if (scan.Pending is { } first)
                {
                    _scans.Remove(nodeId);
                    throw new InvariantViolationException(
                        Name, $"{nodeId}, leader in term {term}, holds two uncommitted configuration changes, {first} and {entry} (committed through {committedIndex}).");
                }

                scan.Pending = entry;
            }

            scan.Through = index;
            scan.Last = entry;
        }
    }

    // How far one leader's log, in one term, has been scanned, and the one uncommitted configuration entry found so far.
    private sealed class Scan(long term, long through)
    {
        public long Through { get; set; } = through;

        public Entry? Last { get; set; }

        public Entry? Pending { get; set; }

        public bool Continues(long leaderTerm, ILogView log) =>
            leaderTerm == term && Through <= log.LastIndex
            && (Last is null || Through <= log.BaseIndex || Equals(log.At(Through), Last));
    }
}
