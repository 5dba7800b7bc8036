using Raft.Core.Messages;

namespace Raft.Core.Storage;

/// <summary>Keeps state-machine snapshots (§7).</summary>
/// <remarks>
/// Contract (checked by the snapshot-store conformance suite in Raft.Testing):
/// <list type="bullet">
/// <item><description>Atomic: a snapshot becomes visible only when <see cref="ISnapshotWriter.CommitAsync"/> completes,
/// durably; a writer disposed without commit, or a crash during writing, leaves no trace (write to a temporary name,
/// fsync, rename).</description></item>
/// <item><description>Verified: a snapshot whose data or metadata fails its checksum is never returned; opening
/// reports the corruption instead of yielding wrong state.</description></item>
/// <item><description>Newest wins: <see cref="OpenLatestAsync"/> returns the committed snapshot with the highest index;
/// older ones may be deleted once a newer one is committed.</description></item>
/// </list>
/// </remarks>
public interface ISnapshotStore
{
    /// <summary>Starts writing a snapshot covering <paramref name="metadata"/>.</summary>
    /// <param name="metadata">What the snapshot covers.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A writer; commit it to make the snapshot visible, dispose it to abandon it.</returns>
    ValueTask<ISnapshotWriter> CreateAsync(SnapshotMetadata metadata, CancellationToken cancellationToken = default);

    /// <summary>Opens the newest committed snapshot, or returns null when there is none.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The snapshot's metadata and a stream over its data; the caller disposes it.</returns>
    /// <exception cref="InvalidDataException">The newest snapshot is corrupt.</exception>
    ValueTask<SnapshotReader?> OpenLatestAsync(CancellationToken cancellationToken = default);
}

/// <summary>Writes one snapshot; see <see cref="ISnapshotStore"/>.</summary>
public interface ISnapshotWriter : IAsyncDisposable
{
    /// <summary>The snapshot's metadata.</summary>
    SnapshotMetadata Metadata { get; }

    /// <summary>Where the state machine writes the snapshot data; its total size need not be known up front.</summary>
    Stream Stream { get; }

    /// <summary>Makes the snapshot durable and visible, atomically.</summary>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>A task that completes when the snapshot is durable.</returns>
    ValueTask CommitAsync(CancellationToken cancellationToken = default);
}

/// <summary>A committed snapshot opened for reading.</summary>
/// <param name="Metadata">What the snapshot covers.</param>
/// <param name="Stream">Its data; dispose the reader when done.</param>
public sealed record SnapshotReader(SnapshotMetadata Metadata, Stream Stream) : IAsyncDisposable
{
    /// <inheritdoc />
    public ValueTask DisposeAsync() => Stream.DisposeAsync();
}
