using Raft.Core.Messages;

namespace Raft.Testing.Simulation.Invariants;

/// <summary>
/// Log Matching (§5.3): if two logs contain an entry with the same index and term, then the logs are identical in all
/// entries up through that index.
/// </summary>
/// <remarks>
/// Checked incrementally on every durable write: the first time any log holds (index, term), its content and the
/// term of its predecessor are registered; every later copy, on any node, must have the same content and the same
/// predecessor term. By induction over the index, two logs that agree at (index, term) then agree everywhere
/// before it, and each write costs only its own entries. <see cref="CheckAll"/> compares whole logs pairwise, for the
/// end of a run.
/// </remarks>
public sealed class LogMatchingInvariant
{
    /// <summary>The name reported on a violation.</summary>
    public const string Name = "Log Matching (§5.3)";

    private readonly Dictionary<(long Index, long Term), (long PreviousTerm, Entry Entry, string FirstHolder)> _seen = [];

    /// <summary>Checks the entries a durable write just placed at <paramref name="fromIndex"/> and after.</summary>
    /// <param name="nodeId">The node whose log changed.</param>
    /// <param name="log">Its whole durable log after the write; entry i at position i - 1.</param>
    /// <param name="fromIndex">The first index the write placed.</param>
    /// <exception cref="InvariantViolationException">A copy differs from the first one seen, or the log is malformed.</exception>
    public void ObserveWrite(string nodeId, IReadOnlyList<Entry> log, long fromIndex)
    {
        ArgumentNullException.ThrowIfNull(log);
        for (var index = Math.Max(1, fromIndex); index <= log.Count; index++)
        {
            var entry = log[(int)(index - 1)];
            var previousTerm = index == 1 ? 0 : log[(int)(index - 2)].Term;
            if (entry.Index != index)
            {
                throw new InvariantViolationException(Name, $"{nodeId}'s durable log holds entry {entry} at position {index}.");
            }

            if (entry.Term < previousTerm)
            {
                throw new InvariantViolationException(Name, $"{nodeId}'s durable log goes back in term at {entry} (previous term {previousTerm}).");
            }

            if (_seen.TryGetValue((entry.Index, entry.Term), out var first))
            {
                if (!EntryIdentity.Same(first.Entry, entry))
                {
                    throw new InvariantViolationException(
                        Name, $"{nodeId} holds {entry} with other content than {first.FirstHolder}'s {first.Entry}: two different entries share index and term.");
                }

                if (first.PreviousTerm != previousTerm)
                {
                    throw new InvariantViolationException(
                        Name,
                        $"{nodeId} and {first.FirstHolder} both hold {entry} but disagree before it: term {previousTerm} vs {first.PreviousTerm} at index {index - 1}.");
                }
            }
            else
            {
                _seen.Add((entry.Index, entry.Term), (previousTerm, entry, nodeId));
            }
        }
    }

    /// <summary>Compares every pair of logs in full: where two hold the same (index, term), everything up to it must be equal.</summary>
    /// <param name="logs">Each node's id and durable log.</param>
    /// <exception cref="InvariantViolationException">Two logs agree at an entry but differ before it.</exception>
    public static void CheckAll(IReadOnlyList<(string NodeId, IReadOnlyList<Entry> Log)> logs)
    {
        ArgumentNullException.ThrowIfNull(logs);
        for (var a = 0; a < logs.Count; a++)
        {
            for (var b = a + 1; b < logs.Count; b++)
            {
                var (idA, logA) = logs[a];
                var (idB, logB) = logs[b];
                var common = Math.Min(logA.Count, logB.Count);

                // The highest index where both hold the same term; everything below must be identical.
                var match = 0;
                for (var i = common; i >= 1; i--)
                {
                    if (logA[i - 1].Term == logB[i - 1].Term)
                    {
                        match = i;
                        break;
                    }
                }

                for (var i = 1; i <= match; i++)
                {
                    if (!EntryIdentity.Same(logA[i - 1], logB[i - 1]))
                    {
                        throw new InvariantViolationException(
                            Name, $"{idA} and {idB} both hold term {logA[match - 1].Term} at index {match} but differ at index {i}: {logA[i - 1]} vs {logB[i - 1]}.");
                    }
                }
            }
        }
    }
}
