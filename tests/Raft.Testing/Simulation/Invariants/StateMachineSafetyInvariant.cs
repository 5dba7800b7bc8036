using Raft.Core.Messages;

namespace Raft.Testing.Simulation.Invariants;

/// <summary>
/// State Machine Safety (§5.4.3): if a server has applied a log entry at a given index to its state machine, no other
/// server will ever apply a different log entry for the same index. Also: each server applies every index once, in
/// order, from its state machine's starting point (index 1, or the snapshot it restored).
/// </summary>
public sealed class StateMachineSafetyInvariant
{
    /// <summary>The name reported on a violation.</summary>
    public const string Name = "State Machine Safety (§5.4.3)";

    // The first entry applied at each index by any node: _applied[i - 1] for index i. Indexes are applied in order,
    // and a snapshot only ever covers indexes some node applied, so this is always a prefix.
    private readonly List<(Entry Entry, string FirstBy)> _applied = [];
    private readonly Dictionary<string, long> _lastApplied = [];

    /// <summary>The highest index any node applied.</summary>
    public long LastIndex => _applied.Count;

    /// <summary>The node's state machine starts over: empty (it applies from index 1 again), or restored from a snapshot.</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="applied">What its state machine already holds: 0 when empty, else the snapshot's index.</param>
    public void ObserveStart(string nodeId, long applied = 0) => _lastApplied[nodeId] = applied;

    /// <summary>Records that <paramref name="nodeId"/> applied <paramref name="entry"/>.</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="entry">The entry handed to its state machine (or skipped, for a no-op).</param>
    /// <returns>True when this is the first time any node applied this index.</returns>
    /// <exception cref="InvariantViolationException">The entry differs from what another node applied there, or it is out of order.</exception>
    public bool ObserveApply(string nodeId, Entry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var last = _lastApplied.GetValueOrDefault(nodeId);
        if (entry.Index != last + 1)
        {
            throw new InvariantViolationException(Name, $"{nodeId} applied {entry} right after index {last}: entries must be applied once each, in order.");
        }

        _lastApplied[nodeId] = entry.Index;
        if (entry.Index <= _applied.Count)
        {
            var (first, firstBy) = _applied[(int)(entry.Index - 1)];
            if (!EntryIdentity.Same(first, entry))
            {
                throw new InvariantViolationException(Name, $"{nodeId} applied {entry} at index {entry.Index}, but {firstBy} applied {first} there.");
            }

            return false;
        }

        if (entry.Index != _applied.Count + 1)
        {
            throw new InvariantViolationException(
                Name, $"{nodeId} applied {entry} after restoring a snapshot through {last}, but no node ever applied index {_applied.Count + 1}.");
        }

        _applied.Add((entry, nodeId));
        return true;
    }
}
