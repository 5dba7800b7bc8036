using Orleans.Raft.EventSourcing;
using Orleans.Runtime;
using Orleans.Storage;

namespace Orleans.Configuration;

/// <summary>Checks a <see cref="RaftLogConsistencyOptions"/> when the silo starts; each message says what to fix.</summary>
/// <param name="options">The provider's options.</param>
/// <param name="name">The provider's name.</param>
/// <param name="resolveStorage">Finds the grain storage provider registered under a name (null when there is none).</param>
public sealed class RaftLogConsistencyOptionsValidator(
    RaftLogConsistencyOptions options, string name, Func<string, IGrainStorage?> resolveStorage) : IConfigurationValidator
{
    /// <inheritdoc />
    /// <exception cref="OrleansConfigurationException">A setting is missing or wrong; the message says which and how to fix it.</exception>
    public void ValidateConfiguration()
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(resolveStorage);
        var prefix = $"Raft log-consistency provider '{name}':";
        if (string.IsNullOrWhiteSpace(options.GrainStorageName))
        {
            throw new OrleansConfigurationException(
                $"{prefix} GrainStorageName is empty. Set it to the name of a Raft grain storage provider added with AddRaftGrainStorage(name, ...).");
        }

        if (options.SnapshotInterval < 0)
        {
            throw new OrleansConfigurationException(
                $"{prefix} SnapshotInterval is {options.SnapshotInterval}; use a positive number of events (100 is typical) or 0 to disable snapshots.");
        }

        if (options.TrimHistory && options.SnapshotInterval == 0)
        {
            throw new OrleansConfigurationException(
                $"{prefix} TrimHistory needs snapshots, but SnapshotInterval is 0. Set SnapshotInterval to a positive number of events, or turn TrimHistory off.");
        }

        if (options.MaxRetryDelay <= TimeSpan.Zero)
        {
            throw new OrleansConfigurationException($"{prefix} MaxRetryDelay is {options.MaxRetryDelay}; it must be positive (1 second is typical).");
        }

        RaftLogConsistencyProvider.RequireRaftStorage(name, options.GrainStorageName, resolveStorage(options.GrainStorageName));
    }
}
