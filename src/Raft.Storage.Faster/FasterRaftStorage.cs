using Microsoft.Extensions.Logging;

namespace Raft.Storage.Faster;

/// <summary>
/// A node's whole durable state in one directory: the log (<c>log/</c>), the hard state (<c>hardstate</c>) and the
/// snapshots (<c>snapshots/</c>).
/// </summary>
/// <remarks>
/// Give the stores to <c>RaftNode</c>; dispose this object after the node stopped. Each store locks its part of the
/// directory, so a second process opening the same node directory fails instead of corrupting it.
/// </remarks>
public sealed class FasterRaftStorage : IAsyncDisposable
{
    private FasterRaftStorage(string directory, FasterLogStore log, FileHardStateStore hardState, FileSnapshotStore snapshots)
    {
        Directory = directory;
        Log = log;
        HardState = hardState;
        Snapshots = snapshots;
    }

    /// <summary>The node's directory.</summary>
    public string Directory { get; }

    /// <summary>The Raft log.</summary>
    public FasterLogStore Log { get; }

    /// <summary>The term, vote and commit index.</summary>
    public FileHardStateStore HardState { get; }

    /// <summary>The state-machine snapshots.</summary>
    public FileSnapshotStore Snapshots { get; }

    /// <summary>Opens (or creates) the stores of the node whose state lives in <paramref name="directory"/>.</summary>
    /// <param name="directory">The node's directory; created when missing.</param>
    /// <param name="configureLog">Adjusts the log's options (page, segment, memory and cache sizes); the log's directory is always <c>log/</c> under <paramref name="directory"/>.</param>
    /// <param name="loggerFactory">Where the stores log; none when null.</param>
    /// <param name="cancellationToken">Cancels waiting for the log's recovery.</param>
    /// <returns>The open stores.</returns>
    /// <exception cref="ArgumentException">The log options are invalid.</exception>
    /// <exception cref="IOException">The directory is in use by another process or store.</exception>
    /// <exception cref="LogCorruptedException">Stored state fails verification.</exception>
    public static async Task<FasterRaftStorage> OpenAsync(
        string directory,
        Func<FasterLogStoreOptions, FasterLogStoreOptions>? configureLog = null,
        ILoggerFactory? loggerFactory = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        directory = Path.GetFullPath(directory);
        var logDirectory = Path.Combine(directory, "log");
        var logOptions = new FasterLogStoreOptions { Directory = logDirectory };
        logOptions = (configureLog?.Invoke(logOptions) ?? logOptions) with { Directory = logDirectory };
        var hardState = FileHardStateStore.Open(Path.Combine(directory, "hardstate"));
        FileSnapshotStore? snapshots = null;
        try
        {
            snapshots = FileSnapshotStore.Open(Path.Combine(directory, "snapshots"), loggerFactory);
            var log = await FasterLogStore.OpenAsync(logOptions, loggerFactory, cancellationToken).ConfigureAwait(false);
            return new FasterRaftStorage(directory, log, hardState, snapshots);
        }
        catch
        {
            snapshots?.Dispose();
            hardState.Dispose();
            throw;
        }
    }

    /// <summary>Closes the three stores.</summary>
    /// <returns>A task that completes once they are closed.</returns>
    public async ValueTask DisposeAsync()
    {
        await Log.DisposeAsync().ConfigureAwait(false);
        HardState.Dispose();
        Snapshots.Dispose();
    }
}
