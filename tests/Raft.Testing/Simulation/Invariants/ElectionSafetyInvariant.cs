using Raft.Core.Messages;

namespace Raft.Testing.Simulation.Invariants;

/// <summary>
/// Election Safety (§5.2): at most one leader can be elected in a given term. Checked over the whole run, so a leader
/// that crashed long ago still holds its term. Also the rule that makes it true: each server votes for at most one
/// candidate in a given term, on disk (§5.2, Figure 2).
/// </summary>
public sealed class ElectionSafetyInvariant
{
    /// <summary>The name reported for a second leader in a term.</summary>
    public const string Name = "Election Safety (§5.2)";

    /// <summary>The name reported for a changed durable vote or a term going back on disk.</summary>
    public const string VoteName = "One vote per term (§5.2)";

    private readonly Dictionary<long, string> _leaderOfTerm = [];

    /// <summary>How many terms had a leader.</summary>
    public int LeaderTerms => _leaderOfTerm.Count;

    /// <summary>The highest term that had a leader (0 before the first).</summary>
    public long HighestLeaderTerm { get; private set; }

    /// <summary>Records that <paramref name="nodeId"/> is leader in <paramref name="term"/>.</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="term">Its term.</param>
    /// <exception cref="InvariantViolationException">Another node was leader in the same term.</exception>
    public void ObserveLeader(string nodeId, long term)
    {
        if (_leaderOfTerm.TryGetValue(term, out var leader))
        {
            if (leader != nodeId)
            {
                throw new InvariantViolationException(Name, $"two leaders in term {term}: {leader} and {nodeId}.");
            }

            return;
        }

        _leaderOfTerm.Add(term, nodeId);
        HighestLeaderTerm = Math.Max(HighestLeaderTerm, term);
    }

    /// <summary>Checks a durable hard state change of one node: the term never goes back, and a vote cast in a term is never changed.</summary>
    /// <param name="nodeId">The node.</param>
    /// <param name="previous">What was on disk.</param>
    /// <param name="next">What replaces it.</param>
    /// <exception cref="InvariantViolationException">The term went back or the vote changed.</exception>
    public static void ObserveDurableHardState(string nodeId, HardState previous, HardState next)
    {
        if (next.Term < previous.Term)
        {
            throw new InvariantViolationException(VoteName, $"{nodeId}'s durable term went back from {previous.Term} to {next.Term}.");
        }

        if (next.Term == previous.Term && previous.VotedFor is not null && next.VotedFor != previous.VotedFor)
        {
            throw new InvariantViolationException(
                VoteName, $"{nodeId} changed its durable vote in term {next.Term} from {previous.VotedFor} to {next.VotedFor ?? "nobody"}.");
        }
    }
}
