using Raft.Core.Messages;

namespace Raft.Testing.Simulation.Invariants;

/// <summary>
/// No acknowledged entry is lost (§5.3, §5.4, §7): an entry counts as committed only once a majority stored it durably,
/// and from then on no majority of any configuration that can elect a leader lacks it; a node never replaces or drops
/// a committed entry it knew committed, or that every leader of the term it took the replacing entries in holds, and
/// compacts its log only behind a durable snapshot.
/// </summary>
/// <remarks>
/// <para>
/// A node holds an entry when its durable log has it, or its durable snapshot covers its index (the snapshot's content
/// is checked elsewhere). Crashes cannot take either away here (the stores keep what they acknowledged), so only a
/// write can: each write is checked before it happens (does it replace or drop a committed entry this node holds?) and
/// after (does every committed entry from the written index on still reach every electorate?). Newly committed entries
/// are counted when they become known.
/// </para>
/// <para>
/// A node may replace an entry that is committed without its knowing (thesis §3.6): it took the append from the
/// leader of an older term, still its own term, while a newer leader committed the entry on a majority without it.
/// So the check before a write judges it by what the node knew when it decided the write (when it took the ready):
/// replacing a committed entry is a violation only at or below the node's commit index then (etcd's rule), or when
/// it took the entries in a term at least the one the commitment was first seen in (Leader Completeness: every leader
/// of that term or later holds the entry, so no append of theirs replaces it). Whether the entries reach a majority is
/// checked after every write regardless.
/// </para>
/// <para>
/// The electorates are the voter sets that can elect the next leader: the committed configuration and the one in force
/// on the current leader, which single-server changes keep at most one change apart (thesis §4.1). With an even
/// number of voters, half of them holding the entry suffices: the others cannot form a majority without one of them.
/// </para>
/// </remarks>
public sealed class CommittedEntriesDurableInvariant
{
    /// <summary>The name reported on a violation.</summary>
    public const string Name = "Committed entries stay on a majority (§5.3, §5.4)";

    private readonly CommittedLog _committed;
    private readonly Func<IReadOnlyList<IReadOnlyList<IDurableReplica>>> _electorates;

    /// <summary>Creates the check.</summary>
    /// <param name="committed">The entries known committed.</param>
    /// <param name="electorates">The voter sets that can elect a leader now, with their durable state; asked at every check.</param>
    public CommittedEntriesDurableInvariant(CommittedLog committed, Func<IReadOnlyList<IReadOnlyList<IDurableReplica>>> electorates)
    {
        _committed = committed;
        _electorates = electorates;
    }

    /// <summary>Creates the check for a fixed set of voters.</summary>
    /// <param name="committed">The entries known committed.</param>
    /// <param name="voters">Every voter's durable state.</param>
    public CommittedEntriesDurableInvariant(CommittedLog committed, IReadOnlyList<IDurableReplica> voters)
        : this(committed, () => [voters])
    {
    }

    /// <summary>Before a write: a committed entry that <paramref name="nodeId"/> holds must survive it unchanged if the node knew it committed, or took the written entries in a term whose leaders all hold it.</summary>
    /// <param name="nodeId">The node about to write.</param>
    /// <param name="log">Its durable log before the write.</param>
    /// <param name="entries">The entries it appends, replacing its log from <c>entries[0].Index</c> on.</param>
    /// <param name="decidedAt">The node's commit index when it decided the write (took the ready), and a term no later than the one it took the entries in.</param>
    /// <exception cref="InvariantViolationException">The write would replace or drop a committed entry the node knew committed, or one every leader of the entries' term holds.</exception>
    public void BeforeWrite(string nodeId, ILogView log, IReadOnlyList<Entry> entries, WriteDecision decidedAt)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(entries);
        if (entries.Count == 0)
        {
            return;
        }

        var from = entries[0].Index;
        var last = Math.Min(log.LastIndex, _committed.LastIndex);
        for (var index = Math.Max(from, log.BaseIndex + 1); index <= last; index++)
        {
            var committed = _committed[index];
            if (!EntryIdentity.Same(log.At(index)!, committed))
            {
                continue;
            }

            var offset = index - from;
            var replacement = offset < entries.Count ? entries[(int)offset] : null;
            if (replacement is not null && EntryIdentity.Same(replacement, committed))
            {
                continue;
            }

            var knew = index <= decidedAt.CommitIndex;
            var seenInTerm = _committed.SeenInTerm(index);
            if (knew || decidedAt.Term >= seenInTerm)
            {
                var what = replacement is null ? "drops" : $"overwrites with {replacement}";
                var why = knew
                    ? $"its commit index was {decidedAt.CommitIndex} when it decided the write"
                    : $"it took the written entries in term {decidedAt.Term} or later, and the entry was seen committed in term {seenInTerm}, so every leader since holds it";
                throw new InvariantViolationException(Name, $"{nodeId} {what} the committed entry {committed}: {why}.");
            }
        }
    }

    /// <summary>Before a snapshot install resets the log to start after <paramref name="snapshotIndex"/>: no committed entry past it may go.</summary>
    /// <param name="nodeId">The node about to reset its log.</param>
    /// <param name="log">Its durable log before the reset.</param>
    /// <param name="snapshotIndex">The index of the installed snapshot (already durable).</param>
    /// <exception cref="InvariantViolationException">The reset would drop a committed entry no snapshot covers.</exception>
    public void BeforeReset(string nodeId, ILogView log, long snapshotIndex)
    {
        ArgumentNullException.ThrowIfNull(log);
        var last = Math.Min(log.LastIndex, _committed.LastIndex);
        for (var index = Math.Max(snapshotIndex, log.BaseIndex) + 1; index <= last; index++)
        {
            if (EntryIdentity.Same(log.At(index)!, _committed[index]))
            {
                throw new InvariantViolationException(
                    Name, $"{nodeId} installs a snapshot through {snapshotIndex} and drops the committed entry {_committed[index]} after it.");
            }
        }
    }

    /// <summary>Before compaction: the entries through <paramref name="throughIndex"/> may go only if a durable snapshot covers them.</summary>
    /// <param name="nodeId">The node about to compact.</param>
    /// <param name="throughIndex">The last index it discards.</param>
    /// <param name="snapshotIndex">What its newest durable snapshot covers.</param>
    /// <exception cref="InvariantViolationException">No durable snapshot covers the discarded entries.</exception>
    public static void BeforeCompact(string nodeId, long throughIndex, long snapshotIndex)
    {
        if (throughIndex > snapshotIndex)
        {
            throw new InvariantViolationException(
                Name, $"{nodeId} compacts its log through {throughIndex}, but its newest durable snapshot covers only {snapshotIndex}.");
        }
    }

    /// <summary>After a write from <paramref name="fromIndex"/>, or when entries become known committed: each committed entry from there on reaches every electorate.</summary>
    /// <param name="fromIndex">The first index to check.</param>
    /// <exception cref="InvariantViolationException">The voters lacking a committed entry could form a majority.</exception>
    public void CheckFrom(long fromIndex)
    {
        if (fromIndex > _committed.LastIndex)
        {
            return;
        }

        foreach (var electorate in _electorates())
        {
            var majority = (electorate.Count / 2) + 1;
            var needed = electorate.Count - majority + 1;
            for (var index = Math.Max(1, fromIndex); index <= _committed.LastIndex; index++)
            {
                var committed = _committed[index];
                var holders = 0;
                foreach (var replica in electorate)
                {
                    if (Holds(replica, index, committed))
                    {
                        holders++;
                    }
                }

                if (holders < needed)
                {
                    throw new InvariantViolationException(
                        Name,
                        $"the committed entry {committed} is durable on {holders} of the voters ({string.Join(" ", electorate.Select(r => r.NodeId))}), " +
                        $"so {electorate.Count - holders} voters without it could elect a leader: " + Holders(electorate, index));
                }
            }
        }
    }

    private static bool Holds(IDurableReplica replica, long index, Entry committed) =>
        replica.SnapshotIndex >= index || (replica.Log.At(index) is { } held && EntryIdentity.Same(held, committed));

    private static string Holders(IReadOnlyList<IDurableReplica> electorate, long index) => string.Join(", ", electorate.Select(
        replica => replica.SnapshotIndex >= index
            ? $"{replica.NodeId} has it in its snapshot through {replica.SnapshotIndex}"
            : $"{replica.NodeId} has {replica.Log.At(index)?.ToString() ?? "nothing"}"));
}
