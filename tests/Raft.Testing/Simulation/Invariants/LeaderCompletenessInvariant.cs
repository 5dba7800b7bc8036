using Raft.Core.Messages;

namespace Raft.Testing.Simulation.Invariants;

/// <summary>
/// Leader Completeness (§5.4): if a log entry is committed in a given term, then that entry will be present in the
/// logs of the leaders for all higher-numbered terms.
/// </summary>
/// <remarks>
/// Every observed leader is checked against every entry in <see cref="CommittedLog"/> whose commitment was seen in a
/// lower term. Each (leader, term) remembers how far it was checked, so a leader is checked in full once when it is
/// first seen and then only against newly committed entries. Entries the leader compacted into its snapshot are not
/// looked at here: compaction is checked to happen only behind a durable snapshot, and snapshots against the committed log.
/// </remarks>
public sealed class LeaderCompletenessInvariant
{
    /// <summary>The name reported on a violation.</summary>
    public const string Name = "Leader Completeness (§5.4)";

    private readonly CommittedLog _committed;
    private readonly Dictionary<(string NodeId, long Term), long> _checkedUpTo = [];

    /// <summary>Creates the check over the cluster's known-committed entries.</summary>
    /// <param name="committed">The entries known committed.</param>
    public LeaderCompletenessInvariant(CommittedLog committed)
    {
        _committed = committed;
    }

    /// <summary>Checks that the leader <paramref name="nodeId"/> of <paramref name="term"/> holds every entry committed before its term.</summary>
    /// <param name="nodeId">The leader.</param>
    /// <param name="term">Its term.</param>
    /// <param name="log">Its durable log.</param>
    /// <exception cref="InvariantViolationException">A committed entry is missing or different.</exception>
    public void ObserveLeader(string nodeId, long term, ILogView log)
    {
        ArgumentNullException.ThrowIfNull(log);
        var from = Math.Max(_checkedUpTo.GetValueOrDefault((nodeId, term)), log.BaseIndex) + 1;
        for (var index = from; index <= _committed.LastIndex; index++)
        {
            if (_committed.SeenInTerm(index) >= term)
            {
                continue;
            }

            var committed = _committed[index];
            var held = log.At(index);
            if (held is null || !EntryIdentity.Same(held, committed))
            {
                throw new InvariantViolationException(
                    Name,
                    $"{nodeId} is leader in term {term} but holds {held?.ToString() ?? "nothing"} at index {index}, where {committed} was committed " +
                    $"(seen committed in term {_committed.SeenInTerm(index)}).");
            }
        }

        _checkedUpTo[(nodeId, term)] = _committed.LastIndex;
    }
}
