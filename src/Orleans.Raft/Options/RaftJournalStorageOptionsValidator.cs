using Microsoft.Extensions.DependencyInjection;
using Orleans.Raft.Storage;
using Orleans.Runtime;
using Orleans.Storage;

namespace Orleans.Configuration;

/// <summary>Checks a <see cref="RaftJournalStorageOptions"/> when the silo starts; each message says what to fix.</summary>
/// <param name="options">The provider's options.</param>
/// <param name="services">The silo's services (to find the Raft grain storage by name).</param>
public sealed class RaftJournalStorageOptionsValidator(RaftJournalStorageOptions options, IServiceProvider services) : IConfigurationValidator
{
    /// <inheritdoc />
    /// <exception cref="OrleansConfigurationException">A setting is missing or wrong; the message says which and how to fix it.</exception>
    public void ValidateConfiguration()
    {
        ArgumentNullException.ThrowIfNull(options);
        const string prefix = "Raft journal storage:";
        if (options.CompactionRecordThreshold < 1)
        {
            throw new OrleansConfigurationException(
                $"{prefix} CompactionRecordThreshold is {options.CompactionRecordThreshold}; it must be at least 1 (records after which a journal is compacted).");
        }

        if (options.CompactionByteThreshold < 1)
        {
            throw new OrleansConfigurationException(
                $"{prefix} CompactionByteThreshold is {options.CompactionByteThreshold}; it must be at least 1 (bytes after which a journal is compacted).");
        }

        _ = ResolveGrainStorage(options, services);
    }

    /// <summary>The Raft grain storage named by <see cref="RaftJournalStorageOptions.GrainStorageName"/>.</summary>
    /// <exception cref="OrleansConfigurationException">The name is missing or names no Raft grain storage.</exception>
    internal static RaftGrainStorage ResolveGrainStorage(RaftJournalStorageOptions options, IServiceProvider services)
    {
        const string prefix = "Raft journal storage:";
        if (string.IsNullOrWhiteSpace(options.GrainStorageName))
        {
            throw new OrleansConfigurationException(
                $"{prefix} GrainStorageName is not set. Set it to the name of a Raft grain storage registered with AddRaftGrainStorage(name, ...) on this silo; the journals are stored in its replicated store.");
        }

        var storage = services.GetKeyedService<IGrainStorage>(options.GrainStorageName);
        return storage switch
        {
            RaftGrainStorage raft => raft,
            null => throw new OrleansConfigurationException(
                $"{prefix} no grain storage named '{options.GrainStorageName}' is registered. Register it with siloBuilder.AddRaftGrainStorage(\"{options.GrainStorageName}\", ...), or set GrainStorageName to the name of the Raft grain storage you registered."),
            _ => throw new OrleansConfigurationException(
                $"{prefix} the grain storage named '{options.GrainStorageName}' is a {storage.GetType().FullName}, not a Raft grain storage. Journals can only be kept in a storage registered with AddRaftGrainStorage."),
        };
    }
}
