using Raft.Core.Messages;

namespace Raft.Testing.Simulation.Invariants;

/// <summary>
/// No acknowledged entry is lost (§5.3, §5.4): an entry counts as committed only once a majority stored it durably, and
/// from then on it stays, unchanged, on the durable logs of a majority; a node that holds a committed entry never
/// replaces or drops it.
/// </summary>
/// <remarks>
/// Crashes cannot take it away here (the stores keep what they acknowledged), so only a write can: each write is
/// checked before it happens (does it replace a committed entry this node holds?) and after (is every committed entry
/// from the written index on still on a majority?). Newly committed entries are counted when they become known.
/// </remarks>
public sealed class CommittedEntriesDurableInvariant
{
    /// <summary>The name reported on a violation.</summary>
    public const string Name = "Committed entries stay on a majority (§5.3, §5.4)";

    private readonly CommittedLog _committed;
    private readonly IReadOnlyList<(string NodeId, IReadOnlyList<Entry> Log)> _durableLogs;

    /// <summary>Creates the check.</summary>
    /// <param name="committed">The entries known committed.</param>
    /// <param name="durableLogs">Every voter's durable log, live views (entry i at position i - 1).</param>
    public CommittedEntriesDurableInvariant(CommittedLog committed, IReadOnlyList<(string NodeId, IReadOnlyList<Entry> Log)> durableLogs)
    {
        _committed = committed;
        _durableLogs = durableLogs;
    }

    private int Majority => (_durableLogs.Count / 2) + 1;

    /// <summary>Before a write: a committed entry that <paramref name="nodeId"/> holds must survive it unchanged.</summary>
    /// <param name="nodeId">The node about to write.</param>
    /// <param name="log">Its durable log before the write.</param>
    /// <param name="entries">The entries it appends, replacing its log from <c>entries[0].Index</c> on.</param>
    /// <exception cref="InvariantViolationException">The write would replace or drop a committed entry.</exception>
    public void BeforeWrite(string nodeId, IReadOnlyList<Entry> log, IReadOnlyList<Entry> entries)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }

        var from = entries[0].Index;
        var last = Math.Min(log.Count, _committed.LastIndex);
        for (var index = from; index <= last; index++)
        {
            var committed = _committed[index];
            if (!EntryIdentity.Same(log[(int)(index - 1)], committed))
            {
                continue;
            }

            var offset = index - from;
            var replacement = offset < entries.Count ? entries[(int)offset] : null;
            if (replacement is null || !EntryIdentity.Same(replacement, committed))
            {
                throw new InvariantViolationException(
                    Name, $"{nodeId} {(replacement is null ? "drops" : $"overwrites with {replacement}")} the committed entry {committed}.");
            }
        }
    }

    /// <summary>After a write from <paramref name="fromIndex"/>, or when entries become known committed: each committed entry from there on is on a majority.</summary>
    /// <param name="fromIndex">The first index to check.</param>
    /// <exception cref="InvariantViolationException">A committed entry is on fewer than a majority of durable logs.</exception>
    public void CheckFrom(long fromIndex)
    {
        for (var index = Math.Max(1, fromIndex); index <= _committed.LastIndex; index++)
        {
            var committed = _committed[index];
            var holders = 0;
            foreach (var (_, log) in _durableLogs)
            {
                if (EntryIdentity.At(log, index) is { } held && EntryIdentity.Same(held, committed))
                {
                    holders++;
                }
            }

            if (holders < Majority)
            {
                throw new InvariantViolationException(
                    Name, $"the committed entry {committed} is on {holders} durable logs, fewer than a majority of {Majority}: " + Holders(index));
            }
        }
    }

    private string Holders(long index) => string.Join(", ", _durableLogs.Select(
        node => $"{node.NodeId} has {EntryIdentity.At(node.Log, index)?.ToString() ?? "nothing"}"));
}
