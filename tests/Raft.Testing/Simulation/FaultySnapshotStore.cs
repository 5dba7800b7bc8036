using Raft.Core.Messages;
using Raft.Core.Storage;

namespace Raft.Testing.Simulation;

/// <summary>
/// A node's durable snapshot store: an <see cref="InMemorySnapshotStore"/> that outlives the node's crashes, wrapped so
/// that committing a snapshot can crash the node just before or just after it becomes durable, and so that the
/// invariants see every snapshot that becomes durable.
/// </summary>
/// <remarks>
/// A commit is atomic (the <see cref="ISnapshotStore"/> contract): a crash before it leaves no trace, so a partial
/// snapshot is never visible. The newest snapshot wins; an older one committed later is kept out.
/// </remarks>
internal sealed class FaultySnapshotStore : ISnapshotStore
{
    private readonly SimNode _owner;
    private readonly Simulator _sim;
    private readonly InMemorySnapshotStore _durable = new();

    public FaultySnapshotStore(SimNode owner, Simulator sim)
    {
        _owner = owner;
        _sim = sim;
    }

    /// <summary>The newest durable snapshot's metadata, or null.</summary>
    public SnapshotMetadata? Latest => _durable.Latest;

    /// <summary>The index the newest durable snapshot covers, or 0.</summary>
    public long LatestIndex => _durable.Latest?.Index ?? 0;

    public ValueTask<ISnapshotWriter> CreateAsync(SnapshotMetadata metadata, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        return ValueTask.FromResult<ISnapshotWriter>(new Writer(this, metadata));
    }

    public ValueTask<SnapshotReader?> OpenLatestAsync(CancellationToken cancellationToken = default) => _durable.OpenLatestAsync(cancellationToken);

    /// <summary>The newest durable snapshot with its bytes, read synchronously, or null.</summary>
    public (SnapshotMetadata Metadata, byte[] Data)? ReadLatest()
    {
        var pending = _durable.OpenLatestAsync();
        if (!pending.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("InMemorySnapshotStore.OpenLatestAsync did not complete synchronously.");
        }

        var reader = pending.Result;
        if (reader is null)
        {
            return null;
        }

        using var source = reader.Stream;
        using var copy = new MemoryStream();
        source.CopyTo(copy);
        return (reader.Metadata, copy.ToArray());
    }

    /// <summary>Writes and commits a whole snapshot at once; the commit may crash the node.</summary>
    public void Save(SnapshotMetadata metadata, byte[] data)
    {
        var fate = _owner.DecideSoloWriteFate();
        if (fate == WriteFate.CrashBefore)
        {
            throw new SimulatedCrashException($"{_owner.Id} crashed before its snapshot through {metadata.Index} was durable");
        }

        _sim.BeforeSnapshotSaved(_owner, metadata, data);
        var created = _durable.CreateAsync(metadata);
        if (!created.IsCompletedSuccessfully)
        {
            throw new InvalidOperationException("InMemorySnapshotStore.CreateAsync did not complete synchronously.");
        }

        var writer = created.Result;
        try
        {
            writer.Stream.Write(data);
            var committed = writer.CommitAsync();
            if (!committed.IsCompletedSuccessfully)
            {
                throw new InvalidOperationException("InMemorySnapshotStore's writer did not commit synchronously.");
            }
        }
        finally
        {
            _ = writer.DisposeAsync();
        }

        if (fate == WriteFate.CrashAfter)
        {
            throw new SimulatedCrashException($"{_owner.Id} crashed right after its snapshot through {metadata.Index} became durable");
        }
    }

    /// <summary>A writer that buffers the data and hands it to <see cref="Save"/> on commit.</summary>
    private sealed class Writer(FaultySnapshotStore store, SnapshotMetadata metadata) : ISnapshotWriter
    {
        private readonly MemoryStream _buffer = new();

        public SnapshotMetadata Metadata { get; } = metadata;

        public Stream Stream => _buffer;

        public ValueTask CommitAsync(CancellationToken cancellationToken = default)
        {
            store.Save(Metadata, _buffer.ToArray());
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => _buffer.DisposeAsync();
    }
}
