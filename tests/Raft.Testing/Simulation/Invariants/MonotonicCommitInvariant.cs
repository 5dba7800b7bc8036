using Raft.Core.Messages;

namespace Raft.Testing.Simulation.Invariants;

/// <summary>
/// The commit index never goes backwards: within one run of a node (it is volatile state, §5.3, Figure 2), and on
/// disk across restarts (a restarted node resumes from its durable commit index and must never unlearn it).
/// </summary>
public sealed class MonotonicCommitInvariant
{
    /// <summary>The name reported on a violation.</summary>
    public const string Name = "Monotonic commit index (§5.3)";

    private readonly Dictionary<string, (int Incarnation, long Commit)> _last = [];

    /// <summary>Checks the in-memory commit index of one incarnation of a node.</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="incarnation">Which run of the node (increases on every restart).</param>
    /// <param name="commit">Its commit index now.</param>
    /// <exception cref="InvariantViolationException">The index went down within the incarnation.</exception>
    public void ObserveCommit(string nodeId, int incarnation, long commit)
    {
        if (_last.TryGetValue(nodeId, out var last) && last.Incarnation == incarnation && commit < last.Commit)
        {
            throw new InvariantViolationException(Name, $"{nodeId}'s commit index went back from {last.Commit} to {commit}.");
        }

        _last[nodeId] = (incarnation, commit);
    }

    /// <summary>Checks a durable hard state change of one node.</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="previous">What was on disk.</param>
    /// <param name="next">What replaces it.</param>
    /// <exception cref="InvariantViolationException">The durable commit index went down.</exception>
    public static void ObserveDurableHardState(string nodeId, HardState previous, HardState next)
    {
        if (next.Commit < previous.Commit)
        {
            throw new InvariantViolationException(Name, $"{nodeId}'s durable commit index went back from {previous.Commit} to {next.Commit}.");
        }
    }
}
