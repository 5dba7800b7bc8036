namespace Orleans.Raft.EventSourcing;

// The highest sequence number each recent writer (activation) has in the journal, and the journal position of that
// record. A writer whose append had an unknown outcome looks itself up here after catching up: its sequence numbers are
// contiguous and its batches atomic, so "my highest sequence in the journal" says exactly how much of its batch landed.
// Bounded: beyond Capacity writers the one seen longest ago is dropped, and EvictedThrough remembers how far back the
// table is no longer complete.
internal sealed class WriterTable
{
    public const int Capacity = 64;

    private readonly Dictionary<Guid, (long Sequence, long Position)> _writers = [];

    // Every writer with a record at a position <= EvictedThrough may be missing from the table.
    public long EvictedThrough { get; private set; } = -1;

    public int Count => _writers.Count;

    public IEnumerable<(Guid Writer, long Sequence, long Position)> Entries => _writers.Select(w => (w.Key, w.Value.Sequence, w.Value.Position));

    public void Clear()
    {
        _writers.Clear();
        EvictedThrough = -1;
    }

    public void Observe(Guid writer, long sequence, long position)
    {
        if (!_writers.TryGetValue(writer, out var seen) || seen.Sequence < sequence)
        {
            _writers[writer] = (sequence, position);
        }

        if (_writers.Count > Capacity)
        {
            var oldest = _writers.MinBy(w => w.Value.Position);
            _writers.Remove(oldest.Key);
            EvictedThrough = Math.Max(EvictedThrough, oldest.Value.Position);
        }
    }

    // Replaces the table with one restored from a snapshot.
    public void Load(IEnumerable<(Guid Writer, long Sequence, long Position)> entries, long evictedThrough)
    {
        Clear();
        foreach (var (writer, sequence, position) in entries)
        {
            _writers[writer] = (sequence, position);
        }

        EvictedThrough = evictedThrough;
    }

    public long HighestSequence(Guid writer) => _writers.TryGetValue(writer, out var seen) ? seen.Sequence : -1;
}
