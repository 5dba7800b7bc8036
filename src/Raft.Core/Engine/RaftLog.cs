using System.Diagnostics;
using Raft.Core.Membership;
using Raft.Core.Messages;

namespace Raft.Core.Engine;

/// <summary>
/// The engine's view of the log, with the indexes that say how far it is durable, committed and applied.
/// </summary>
/// <remarks>
/// The term of every entry since the log's base (the last snapshot's index) is kept in memory, so Log Matching checks
/// never read the disk. The entries themselves are kept from a window start on: every entry that is not yet durable
/// or not yet applied, and, on a leader, those some follower still lacks among the newest
/// <see cref="RaftOptions.RetainedLogEntries"/> (see <see cref="SetNeededFrom"/>). Entries before the window
/// are read back through the <see cref="StableEntryReader"/> when a follower that far behind needs them; without a
/// reader the window never moves and every entry since the base stays in memory.
/// </remarks>
internal sealed class RaftLog
{
    // The term of every entry after the base: _terms[i] is the term of index _baseIndex + 1 + i.
    private readonly List<long> _terms = [];

    // The entries in memory: _entries[i].Index == _windowStart + i, up to LastIndex.
    private readonly List<Entry> _entries = [];

    // The configuration entries after the base, in log order, decoded: the last one is the configuration in force
    // (thesis §4.1: the latest in the log, committed or not); with none, the base configuration is.
    private readonly List<(long Index, ClusterConfiguration Configuration)> _configurations = [];

    private readonly StableEntryReader? _readStable;
    private readonly int _retained;

    // The lowest index a follower may still have to be sent (a leader's lowest follower Match + 1); long.MaxValue
    // when no one is sent entries from this log (not a leader). Entries before it are let go as soon as they are
    // durable and applied; entries from it on only once they are older than the newest RetainedLogEntries.
    private long _neededFrom = long.MaxValue;

    // Invariant: _baseTerm is the term of the entry at _baseIndex; _baseIndex < _windowStart <= LastIndex + 1.
    private long _baseIndex;
    private long _baseTerm;
    private long _windowStart;
    private ClusterConfiguration _baseConfiguration;

    /// <param name="entries">The recovered entries, starting right after the base.</param>
    /// <param name="commit">The recovered commit index.</param>
    /// <param name="applied">What the state machine already holds.</param>
    /// <param name="baseIndex">The index the log starts after (a snapshot's last index; 0 for a full log).</param>
    /// <param name="baseTerm">The term of the entry at <paramref name="baseIndex"/>.</param>
    /// <param name="baseConfiguration">The configuration in force at <paramref name="baseIndex"/>.</param>
    /// <param name="readStable">Reads durable entries back from the log store; null keeps every entry in memory.</param>
    /// <param name="retained">How many of the newest durable, applied entries to keep in memory when there is a reader.</param>
    public RaftLog(
        IReadOnlyList<Entry> entries,
        long commit,
        long applied,
        long baseIndex,
        long baseTerm,
        ClusterConfiguration baseConfiguration,
        StableEntryReader? readStable = null,
        int retained = 0)
    {
        _readStable = readStable;
        _retained = retained;
        _baseIndex = baseIndex;
        _windowStart = baseIndex + 1;
        _baseTerm = baseTerm;
        _baseConfiguration = baseConfiguration;
        var expected = baseIndex + 1;
        var lastTerm = baseTerm;
        foreach (var entry in entries)
        {
            if (entry.Index != expected)
            {
                throw new ArgumentException($"The recovered log is not contiguous: expected index {expected}, found {entry.Index}.", nameof(entries));
            }

            if (entry.Term < lastTerm)
            {
                throw new ArgumentException($"The recovered log goes back in term at index {entry.Index} ({entry.Term} after {lastTerm}).", nameof(entries));
            }

            lastTerm = entry.Term;
            expected++;
            Add(entry);
        }

        if (commit > LastIndex)
        {
            throw new ArgumentException(
                $"The recovered commit index {commit} is past the recovered log's last index {LastIndex}: the log store lost acknowledged entries.",
                nameof(commit));
        }

        Committed = Math.Max(commit, baseIndex);
        Applied = Math.Max(Math.Min(applied, commit), baseIndex);
        StableIndex = LastIndex;
        UnstableOffset = LastIndex + 1;
        Release();
    }

    // Invariant: Applied <= Committed <= LastIndex; StableIndex <= LastIndex.

    /// <summary>The highest index known committed.</summary>
    public long Committed { get; private set; }

    /// <summary>The highest index handed out for applying.</summary>
    public long Applied { get; private set; }

    /// <summary>The highest index known durable in the log store.</summary>
    public long StableIndex { get; private set; }

    /// <summary>The first index not yet handed out for persisting.</summary>
    public long UnstableOffset { get; private set; }

    /// <summary>Bumped whenever <see cref="Configuration"/> may have changed.</summary>
    public int ConfigurationVersion { get; private set; }

    /// <summary>The configuration in force: that of the latest configuration entry in the log, else the base one.</summary>
    public ClusterConfiguration Configuration => _configurations.Count > 0 ? _configurations[^1].Configuration : _baseConfiguration;

    /// <summary>The index of the latest configuration entry in the log, or the base index when there is none.</summary>
    public long ConfigurationIndex => _configurations.Count > 0 ? _configurations[^1].Index : _baseIndex;

    public long BaseIndex => _baseIndex;

    public long BaseTerm => _baseTerm;

    public long FirstIndex => _baseIndex + 1;

    public long LastIndex => _baseIndex + _terms.Count;

    public long LastTerm => _terms.Count == 0 ? _baseTerm : _terms[^1];

    /// <summary>The term of the entry at <paramref name="index"/>, or -1 when the log does not hold it.</summary>
    public long Term(long index)
    {
        if (index == _baseIndex)
        {
            return _baseTerm;
        }

        if (index < _baseIndex || index > LastIndex)
        {
            return -1;
        }

        return _terms[(int)(index - _baseIndex - 1)];
    }

    public bool MatchTerm(long index, long term) => term >= 0 && Term(index) == term;

    public Entry At(long index) => index >= _windowStart ? _entries[(int)(index - _windowStart)] : ReadStable(index, index)[0];

    /// <summary>§5.4.1: is a log ending at (<paramref name="lastIndex"/>, <paramref name="lastTerm"/>) at least as up-to-date as ours?</summary>
    public bool IsUpToDate(long lastIndex, long lastTerm) =>
        lastTerm > LastTerm || (lastTerm == LastTerm && lastIndex >= LastIndex);

    /// <summary>Appends entries, first discarding any entries from the first new entry's index on.</summary>
    public void Append(IReadOnlyList<Entry> entries)
    {
        if (entries.Count == 0)
        {
            return;
        }

        var first = entries[0].Index;
        Debug.Assert(first > Committed, "never overwrite a committed entry");
        if (first <= LastIndex)
        {
            TruncateFrom(first);
        }

        Debug.Assert(first == LastIndex + 1, "appends are contiguous");
        for (var i = 0; i < entries.Count; i++)
        {
            Add(entries[i]);
        }
    }

    public void Append(Entry entry)
    {
        Debug.Assert(entry.Index == LastIndex + 1, "appends are contiguous");
        Add(entry);
    }

    private void Add(Entry entry)
    {
        _terms.Add(entry.Term);
        _entries.Add(entry);
        if (entry.Type == EntryType.ConfigChange)
        {
            _configurations.Add((entry.Index, ClusterConfiguration.Decode(entry.Data.Span)));
            ConfigurationVersion++;
        }
    }

    /// <summary>The configuration in force at <paramref name="index"/> (which must not be below the base).</summary>
    public ClusterConfiguration ConfigurationAt(long index)
    {
        for (var i = _configurations.Count - 1; i >= 0; i--)
        {
            if (_configurations[i].Index <= index)
            {
                return _configurations[i].Configuration;
            }
        }

        return _baseConfiguration;
    }

    /// <summary>
    /// Forgets the entries up to <paramref name="index"/> (they are covered by a snapshot); the entry at
    /// <paramref name="index"/> becomes the base. Only applied entries may be compacted.
    /// </summary>
    public void CompactTo(long index)
    {
        if (index <= _baseIndex)
        {
            return;
        }

        Debug.Assert(index <= Applied && index <= StableIndex, "only durable, applied entries are compacted");
        var term = Term(index);
        _baseConfiguration = ConfigurationAt(index);
        _terms.RemoveRange(0, (int)(index - _baseIndex));
        if (index >= _windowStart)
        {
            _entries.RemoveRange(0, (int)(index - _windowStart + 1));
            _windowStart = index + 1;
        }

        _configurations.RemoveAll(c => c.Index <= index);
        _baseIndex = index;
        _baseTerm = term;
    }

    /// <summary>Replaces the whole log with a snapshot's base (§7): everything up to its index is committed and applied.</summary>
    public void Restore(SnapshotMetadata snapshot)
    {
        _terms.Clear();
        _entries.Clear();
        _configurations.Clear();
        _windowStart = snapshot.Index + 1;
        _baseIndex = snapshot.Index;
        _baseTerm = snapshot.Term;
        _baseConfiguration = snapshot.Configuration;
        Committed = snapshot.Index;
        Applied = snapshot.Index;
        StableIndex = snapshot.Index;
        UnstableOffset = snapshot.Index + 1;
        ConfigurationVersion++;
    }

    /// <summary>
    /// The follower's side of AppendEntries (§5.3): if our log has (<paramref name="prevIndex"/>, <paramref name="prevTerm"/>),
    /// append the entries past the first conflict, advance the commit index, and return the last index now known to
    /// match the leader; otherwise return -1.
    /// </summary>
    public long MaybeAppend(long prevIndex, long prevTerm, long leaderCommit, IReadOnlyList<Entry> entries)
    {
        if (!MatchTerm(prevIndex, prevTerm))
        {
            return -1;
        }

        var lastNew = prevIndex + entries.Count;
        var conflict = FindConflict(entries);
        if (conflict != 0)
        {
            if (conflict <= Committed)
            {
                throw new InvalidOperationException(
                    $"Raft safety violation: entry {conflict} conflicts with the committed prefix (commit {Committed}).");
            }

            var skip = (int)(conflict - (prevIndex + 1));
            if (skip == 0)
            {
                Append(entries);
            }
            else
            {
                var rest = new Entry[entries.Count - skip];
                for (var i = 0; i < rest.Length; i++)
                {
                    rest[i] = entries[skip + i];
                }

                Append(rest);
            }
        }

        // Commit only what we now know matches the leader: entries past lastNew may be stale.
        CommitTo(Math.Min(leaderCommit, lastNew));
        return lastNew;
    }

    /// <summary>
    /// The index of the first entry that is not already in our log with the same term (0 when all are), as in etcd.
    /// </summary>
    private long FindConflict(IReadOnlyList<Entry> entries)
    {
        for (var i = 0; i < entries.Count; i++)
        {
            if (!MatchTerm(entries[i].Index, entries[i].Term))
            {
                return entries[i].Index;
            }
        }

        return 0;
    }

    /// <summary>
    /// Fast back-off (thesis §5.3 optimisation): the largest index at or below <paramref name="index"/> whose term is at
    /// most <paramref name="term"/>, with its term. Entries above it cannot match a log whose entry at that position has
    /// <paramref name="term"/>.
    /// </summary>
    public (long Index, long Term) FindConflictByTerm(long index, long term)
    {
        index = Math.Min(index, LastIndex);
        while (index > _baseIndex)
        {
            var t = Term(index);
            if (t <= term)
            {
                return (index, t);
            }

            index--;
        }

        return (_baseIndex, _baseTerm);
    }

    public void CommitTo(long index)
    {
        if (index > Committed)
        {
            Debug.Assert(index <= LastIndex, "commit within the log");
            Committed = index;
        }
    }

    /// <summary>Entries from <paramref name="from"/> on, at most <paramref name="maxBytes"/> (at least one entry).</summary>
    public IReadOnlyList<Entry> Slice(long from, long maxBytes)
    {
        if (from > LastIndex)
        {
            return [];
        }

        if (from < _windowStart)
        {
            return SliceStable(from, maxBytes);
        }

        var start = (int)(from - _windowStart);
        var count = 0;
        long bytes = 0;
        for (var i = start; i < _entries.Count; i++)
        {
            bytes += _entries[i].Size;
            if (count > 0 && bytes > maxBytes)
            {
                break;
            }

            count++;
        }

        return _entries.GetRange(start, count);
    }

    /// <summary>
    /// Whether the entries from <paramref name="from"/> to the end are all in memory and total fewer than
    /// <paramref name="bytes"/> bytes (true when there are none). Stops counting at <paramref name="bytes"/>.
    /// </summary>
    public bool HasFewerBytesFrom(long from, long bytes)
    {
        if (from < _windowStart)
        {
            return false;
        }

        long total = 0;
        for (var i = (int)Math.Min(from - _windowStart, _entries.Count); i < _entries.Count; i++)
        {
            total += _entries[i].Size;
            if (total >= bytes)
            {
                return false;
            }
        }

        return true;
    }

    // A slice that starts before the window: read from the store in chunks until the budget or the window is reached,
    // then go on in memory. The first chunk is small; later ones are sized from the entries read so far to what the
    // budget still allows, so a follower catching up costs about one store read per message.
    private List<Entry> SliceStable(long from, long maxBytes)
    {
        const int FirstChunk = 64;
        const int MaxChunk = 16_384;
        var result = new List<Entry>();
        long bytes = 0;
        var next = from;
        while (next <= LastIndex)
        {
            var wanted = result.Count == 0
                ? FirstChunk
                : (int)Math.Clamp((maxBytes - bytes) / Math.Max(1, bytes / result.Count) + 1, 1, MaxChunk);
            IReadOnlyList<Entry> chunk = next < _windowStart
                ? ReadStable(next, Math.Min(_windowStart - 1, next + wanted - 1))
                : _entries.GetRange((int)(next - _windowStart), (int)Math.Min(wanted, LastIndex - next + 1));
            for (var i = 0; i < chunk.Count; i++)
            {
                bytes += chunk[i].Size;
                if (result.Count > 0 && bytes > maxBytes)
                {
                    return result;
                }

                result.Add(chunk[i]);
            }

            next += chunk.Count;
        }

        return result;
    }

    private IReadOnlyList<Entry> ReadStable(long from, long to)
    {
        Debug.Assert(from > _baseIndex && to < _windowStart && from <= to, "only durable entries before the window are read back");
        var reader = _readStable ?? throw new InvalidOperationException($"Entry {from} is not in memory and the log has no reader.");
        var entries = reader(from, to);
        if (entries.Count != to - from + 1 || entries[0].Index != from || entries[^1].Index != to)
        {
            throw new InvalidOperationException(
                $"The log store returned {entries.Count} entries for [{from}, {to}]" +
                (entries.Count > 0 ? $" ({entries[0].Index}..{entries[^1].Index})" : "") + "; it must return exactly one entry per index.");
        }

        for (var i = 0; i < entries.Count; i++)
        {
            if (entries[i].Term != _terms[(int)(from + i - _baseIndex - 1)])
            {
                throw new InvalidOperationException(
                    $"The log store returned entry {from + i} with term {entries[i].Term}, but the log holds term {_terms[(int)(from + i - _baseIndex - 1)]} there: the store lost or replaced durable entries.");
            }
        }

        return entries;
    }

    /// <summary>
    /// Tells the log the lowest index a follower may still have to be sent (a leader's lowest follower Match + 1), or
    /// long.MaxValue when this node sends no entries. Entries every follower holds need not stay in memory: kept for
    /// the RetainedLogEntries window, they would live long enough for the garbage collector to promote them.
    /// </summary>
    public void SetNeededFrom(long index)
    {
        _neededFrom = index;
    }

    // Lets go of entries before the window the log keeps: durable, applied, and either held by every follower or older
    // than the newest RetainedLogEntries. They go in batches, so the window is not shifted for every applied entry.
    private void Release()
    {
        if (_readStable is null)
        {
            return;
        }

        var kept = Math.Max(LastIndex - _retained, _neededFrom - 1);
        var through = Math.Min(Math.Min(Applied, StableIndex), kept);
        var count = through - _windowStart + 1;

        // Removing shifts what stays: release once a quarter of the window or half of what is held can go.
        if (count > 0 && (count >= _retained / 4 || count * 2 >= _entries.Count))
        {
            _entries.RemoveRange(0, (int)count);
            _windowStart = through + 1;
        }
    }

    /// <summary>Entries not yet handed out for persisting, through <paramref name="through"/>; marks them handed out.</summary>
    public IReadOnlyList<Entry> TakeUnstable(long through)
    {
        var last = Math.Min(through, LastIndex);
        if (UnstableOffset > last)
        {
            return [];
        }

        // Entries not yet durable are always in the window.
        var result = _entries.GetRange((int)(UnstableOffset - _windowStart), (int)(last - UnstableOffset + 1));
        UnstableOffset = last + 1;
        return result;
    }

    /// <summary>Whether entries through <paramref name="through"/> wait to be handed out for persisting.</summary>
    public bool HasUnstableThrough(long through) => UnstableOffset <= Math.Min(through, LastIndex);

    /// <summary>Records that entries up to (<paramref name="index"/>, <paramref name="term"/>) are durable.</summary>
    public void StableTo(long index, long term)
    {
        // If the entry was replaced after it was handed out, the replacement is still to be written: the old write
        // says nothing about it (etcd's ABA guard).
        if (MatchTerm(index, term) && index > StableIndex)
        {
            StableIndex = Math.Min(index, UnstableOffset - 1);
            Release();
        }
    }

    public bool HasNextCommitted => Committed > Applied;

    /// <summary>Committed entries not yet handed out for applying; marks them handed out.</summary>
    public IReadOnlyList<Entry> TakeCommitted()
    {
        if (Committed <= Applied)
        {
            return [];
        }

        Debug.Assert(Applied + 1 >= _windowStart, "entries not yet applied stay in memory");
        var start = (int)(Applied + 1 - _windowStart);
        var result = _entries.GetRange(start, (int)(Committed - Applied));
        Applied = Committed;
        Release();
        return result;
    }

    private void TruncateFrom(long index)
    {
        Debug.Assert(index >= _windowStart, "only entries past the commit index are replaced, and those stay in memory");
        var keep = (int)(index - _baseIndex - 1);
        _terms.RemoveRange(keep, _terms.Count - keep);
        var keepInWindow = (int)(index - _windowStart);
        _entries.RemoveRange(keepInWindow, _entries.Count - keepInWindow);
        if (_configurations.RemoveAll(c => c.Index >= index) > 0)
        {
            // The configuration reverts to the one before the truncated entry (thesis §4.1).
            ConfigurationVersion++;
        }

        UnstableOffset = Math.Min(UnstableOffset, index);
        StableIndex = Math.Min(StableIndex, index - 1);
    }
}
