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
/// before it, and each write costs only its own entries. The first entry after a compacted or installed base is checked
/// against the base's term. <see cref="CheckAll"/> compares logs pairwise over the range both still hold, for the end
/// of a run.
/// </remarks>
public sealed class LogMatchingInvariant
{
    /// <summary>The name reported on a violation.</summary>
    public const string Name = "Log Matching (§5.3)";

    private readonly Dictionary<(long Index, long Term), (long PreviousTerm, Entry Entry, string FirstHolder)> _seen = [];

    /// <summary>Checks the entries a durable write just placed at <paramref name="fromIndex"/> and after.</summary>
    /// <param name="nodeId">The node whose log changed.</param>
    /// <param name="log">Its durable log after the write.</param>
    /// <param name="fromIndex">The first index the write placed.</param>
    /// <exception cref="InvariantViolationException">A copy differs from the first one seen, or the log is malformed.</exception>
    public void ObserveWrite(string nodeId, ILogView log, long fromIndex)
    {
        ArgumentNullException.ThrowIfNull(log);
        for (var index = Math.Max(Math.Max(1, fromIndex), log.BaseIndex + 1); index <= log.LastIndex; index++)
        {
            var entry = log.At(index)!;
            var previousTerm = log.TermAt(index - 1);
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

    /// <summary>Compares every pair of logs where both hold entries: where two hold the same (index, term), everything both hold up to it must be equal.</summary>
    /// <param name="logs">Each node's id and durable log.</param>
    /// <exception cref="InvariantViolationException">Two logs agree at an entry but differ before it.</exception>
    public static void CheckAll(IReadOnlyList<(string NodeId, ILogView Log)> logs)
    {
        ArgumentNullException.ThrowIfNull(logs);
        for (var a = 0; a < logs.Count; a++)
        {
            for (var b = a + 1; b < logs.Count; b++)
            {
                var (idA, logA) = logs[a];
                var (idB, logB) = logs[b];
                var first = Math.Max(logA.BaseIndex, logB.BaseIndex) + 1;
                var last = Math.Min(logA.LastIndex, logB.LastIndex);

                // The highest index both hold with the same term; everything both hold below it must be identical.
                var match = 0L;
                for (var i = last; i >= first; i--)
                {
                    if (logA.At(i)!.Term == logB.At(i)!.Term)
                    {
                        match = i;
                        break;
                    }
                }

                for (var i = first; i <= match; i++)
                {
                    if (!EntryIdentity.Same(logA.At(i)!, logB.At(i)!))
                    {
                        throw new InvariantViolationException(
                            Name, $"{idA} and {idB} both hold term {logA.At(match)!.Term} at index {match} but differ at index {i}: {logA.At(i)} vs {logB.At(i)}.");
                    }
                }
            }
        }
    }
}
