using System.Diagnostics;
using Raft.Core.Messages;

namespace Raft.Core.Storage;

/// <summary>An <see cref="ILogStore"/> that keeps the log in memory: "durable" for as long as the instance lives.</summary>
/// <remarks>
/// For tests, the simulator and benchmarks. Every operation completes synchronously (the returned tasks are already
/// complete), which keeps a deterministic simulation on one thread. It checks the <see cref="ILogStore"/> contract
/// strictly, so an engine or runtime bug surfaces here as an <see cref="ArgumentException"/>: besides holes and
/// non-consecutive input it rejects entries whose terms decrease along the log. Compaction frees whole chunks.
/// Thread-safe: reads may run concurrently with the writer.
/// </remarks>
public sealed class InMemoryLogStore : ILogStore
{
    // Fixed-size chunks instead of one growing list: no doubling copies and no huge arrays on long benchmark runs.
    private const int ChunkSize = 4096;

    private readonly Lock _lock = new();

    // Invariant: the entry with index i sits at _chunks[(i - 1) / ChunkSize][(i - 1) % ChunkSize] for _first <= i <= _count,
    // slots past _count are null, chunks wholly below _first may be null, and terms never decrease along the log.
    private readonly List<Entry[]?> _chunks = [];
    private long _count;
    private long _first = 1;

    /// <summary>Creates an empty log.</summary>
    public InMemoryLogStore()
    {
    }

    /// <summary>Creates a log holding <paramref name="entries"/>, as if they had been appended.</summary>
    /// <param name="entries">Consecutive entries starting at index 1.</param>
    /// <exception cref="ArgumentException">The entries do not start at 1, are not consecutive or their terms decrease.</exception>
    public InMemoryLogStore(IEnumerable<Entry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        Append(entries.ToList());
    }

    /// <inheritdoc />
    public long FirstIndex
    {
        get
        {
            lock (_lock)
            {
                return _first;
            }
        }
    }

    /// <inheritdoc />
    public long LastIndex
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>The number of appends that wrote at least one entry; tests use it to observe batching.</summary>
    public long AppendCount { get; private set; }

    /// <summary>A copy of the whole log, read synchronously.</summary>
    /// <returns>Every entry, in index order.</returns>
    public IReadOnlyList<Entry> GetEntries()
    {
        lock (_lock)
        {
            return CopyRange(_first, _count);
        }
    }

    /// <inheritdoc />
    public ValueTask AppendAsync(IReadOnlyList<Entry> entries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        cancellationToken.ThrowIfCancellationRequested();
        Append(entries);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<Entry>> ReadAsync(long fromIndex, long toIndexInclusive, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (fromIndex < _first || toIndexInclusive > _count || fromIndex > toIndexInclusive + 1)
            {
                throw new ArgumentOutOfRangeException(
                    nameof(fromIndex),
                    $"Cannot read [{fromIndex}, {toIndexInclusive}]: the log holds [{_first}, {_count}].");
            }

            return ValueTask.FromResult<IReadOnlyList<Entry>>(CopyRange(fromIndex, toIndexInclusive));
        }
    }

    /// <inheritdoc />
    public ValueTask CompactAsync(long throughIndex, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            var first = Math.Min(throughIndex + 1, _count + 1);
            if (first <= _first)
            {
                return ValueTask.CompletedTask;
            }

            _first = first;

            // Free every chunk whose slots all lie below the new first index.
            for (var chunk = 0; chunk < _chunks.Count && (chunk + 1L) * ChunkSize <= _first - 1; chunk++)
            {
                _chunks[chunk] = null;
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public ValueTask ResetAsync(long snapshotIndex, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(snapshotIndex);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            _chunks.Clear();
            for (var chunk = 0L; chunk < snapshotIndex / ChunkSize; chunk++)
            {
                _chunks.Add(null);
            }

            _count = snapshotIndex;
            _first = snapshotIndex + 1;
        }

        return ValueTask.CompletedTask;
    }

    private void Append(IReadOnlyList<Entry> entries)
    {
        if (entries.Count == 0)
        {
            return;
        }

        lock (_lock)
        {
            Validate(entries);

            // Replacing a suffix: the entries from entries[0].Index on are discarded, then the new ones appended.
            TruncateTo(entries[0].Index - 1);
            for (var i = 0; i < entries.Count; i++)
            {
                var slot = _count;
                if (slot / ChunkSize == _chunks.Count)
                {
                    _chunks.Add(new Entry[ChunkSize]);
                }

                var chunk = _chunks[(int)(slot / ChunkSize)] ??= new Entry[ChunkSize];
                chunk[slot % ChunkSize] = entries[i];
                _count++;
            }

            Debug.Assert(At(_count).Index == _count, "The last slot holds the entry with the last index.");
            AppendCount++;
        }
    }

    private Entry At(long index) => _chunks[(int)((index - 1) / ChunkSize)]![(index - 1) % ChunkSize];

    private Entry[] CopyRange(long fromIndex, long toIndexInclusive)
    {
        var result = new Entry[toIndexInclusive - fromIndex + 1];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = At(fromIndex + i);
        }

        return result;
    }

    // Drops entries past `count`, clearing their slots so the discarded suffix can be collected.
    private void TruncateTo(long count)
    {
        if (count >= _count)
        {
            return;
        }

        for (var slot = count; slot < _count && slot % ChunkSize != 0; slot++)
        {
            _chunks[(int)(slot / ChunkSize)]![slot % ChunkSize] = null!;
        }

        var chunksNeeded = (int)((count + ChunkSize - 1) / ChunkSize);
        if (chunksNeeded < _chunks.Count)
        {
            _chunks.RemoveRange(chunksNeeded, _chunks.Count - chunksNeeded);
        }

        _count = count;
    }

    // Checks the whole batch before changing anything, so a rejected append leaves the log as it was.
    private void Validate(IReadOnlyList<Entry> entries)
    {
        var first = entries[0] ?? throw new ArgumentException("Entries must not contain null.", nameof(entries));
        if (first.Index < _first || first.Index > _count + 1)
        {
            throw new ArgumentException(
                $"The first entry's index {first.Index} must be in [{_first}, {_count + 1}]: the log holds [{_first}, {_count}], and entries before {_first} are compacted.",
                nameof(entries));
        }

        if (first.Index > _first && At(first.Index - 1).Term > first.Term)
        {
            throw new ArgumentException(
                $"Entry {first.Index} has term {first.Term}, lower than the term {At(first.Index - 1).Term} of the entry before it; terms never decrease along the log.",
                nameof(entries));
        }

        for (var i = 1; i < entries.Count; i++)
        {
            var previous = entries[i - 1];
            var entry = entries[i] ?? throw new ArgumentException("Entries must not contain null.", nameof(entries));
            if (entry.Index != previous.Index + 1)
            {
                throw new ArgumentException(
                    $"Entries are not consecutive: index {entry.Index} follows {previous.Index}.", nameof(entries));
            }

            if (entry.Term < previous.Term)
            {
                throw new ArgumentException(
                    $"Entry {entry.Index} has term {entry.Term}, lower than the term {previous.Term} of entry {previous.Index}; terms never decrease along the log.",
                    nameof(entries));
            }
        }
    }
}
