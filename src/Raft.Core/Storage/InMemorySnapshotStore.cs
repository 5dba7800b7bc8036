using Raft.Core.Messages;

namespace Raft.Core.Storage;

/// <summary>An <see cref="ISnapshotStore"/> in memory, for tests and single-process clusters; "durable" means kept by this object.</summary>
public sealed class InMemorySnapshotStore : ISnapshotStore
{
    private readonly object _gate = new();
    private (SnapshotMetadata Metadata, byte[] Data)? _latest;

    /// <summary>How many snapshots were committed.</summary>
    public int CommitCount { get; private set; }

    /// <summary>The newest committed snapshot's metadata, or null.</summary>
    public SnapshotMetadata? Latest
    {
        get
        {
            lock (_gate)
            {
                return _latest?.Metadata;
            }
        }
    }

    /// <inheritdoc />
    public ValueTask<ISnapshotWriter> CreateAsync(SnapshotMetadata metadata, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return ValueTask.FromResult<ISnapshotWriter>(new Writer(this, metadata));
    }

    /// <inheritdoc />
    public ValueTask<SnapshotReader?> OpenLatestAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return ValueTask.FromResult(_latest is { } latest
                ? new SnapshotReader(latest.Metadata, new MemoryStream(latest.Data, writable: false))
                : null);
        }
    }

    private void Commit(SnapshotMetadata metadata, byte[] data)
    {
        lock (_gate)
        {
            if (_latest is null || metadata.Index >= _latest.Value.Metadata.Index)
            {
                _latest = (metadata, data);
            }

            CommitCount++;
        }
    }

    private sealed class Writer(InMemorySnapshotStore store, SnapshotMetadata metadata) : ISnapshotWriter
    {
        private readonly MemoryStream _buffer = new();
        private bool _committed;

        public SnapshotMetadata Metadata { get; } = metadata;

        public Stream Stream => _buffer;

        public ValueTask CommitAsync(CancellationToken cancellationToken = default)
        {
            if (_committed)
            {
                throw new InvalidOperationException("The snapshot was already committed.");
            }

            _committed = true;
            store.Commit(Metadata, _buffer.ToArray());
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => _buffer.DisposeAsync();
    }
}
