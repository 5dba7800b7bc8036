using Raft.Core.Messages;

namespace Raft.Testing.Simulation.Invariants;

/// <summary>
/// One membership change at a time (thesis §4.1): a leader's log holds at most one configuration entry past the
/// committed index, so the old and new majorities always overlap.
/// </summary>
/// <remarks>
/// Measured against the cluster's known-committed index, not the leader's own: a new leader may not have learned yet
/// that its predecessor's change committed, and must not be blamed for an entry it did not append.
/// </remarks>
public static class SingleConfigurationChangeInvariant
{
    /// <summary>The name reported on a violation.</summary>
    public const string Name = "At most one configuration change pending (§4.1)";

    /// <summary>Checks the leader <paramref name="nodeId"/>'s log past <paramref name="committedIndex"/>.</summary>
    /// <param name="nodeId">The leader.</param>
    /// <param name="term">Its term.</param>
    /// <param name="log">Its durable log.</param>
    /// <param name="committedIndex">The highest index known committed anywhere.</param>
    /// <exception cref="InvariantViolationException">Two or more configuration entries are uncommitted.</exception>
    public static void ObserveLeader(string nodeId, long term, ILogView log, long committedIndex)
    {
        ArgumentNullException.ThrowIfNull(log);
        Entry? first = null;
        for (var index = Math.Max(committedIndex, log.BaseIndex) + 1; index <= log.LastIndex; index++)
        {
            var entry = log.At(index)!;
            if (entry.Type != EntryType.ConfigChange)
            {
                continue;
            }

            if (first is not null)
            {
                throw new InvariantViolationException(
                    Name, $"{nodeId}, leader in term {term}, holds two uncommitted configuration changes, {first} and {entry} (committed through {committedIndex}).");
            }

            first = entry;
        }
    }
}
