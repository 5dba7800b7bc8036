using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.EventSourcing;
using Orleans.Hosting;
using Orleans.Raft.EventSourcing;
using Orleans.Raft.Networking;
using Orleans.Raft.Storage;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Orleans.Raft.Tests.EventSourcing;

// A 3-silo in-process cluster with the Raft grain storage ("raft", in-memory network that tests can partition, durable
// stores under a temporary directory) and the Raft log-consistency provider on it ("raft-es").
public sealed class EventSourcingCluster : IAsyncDisposable
{
    public const string ProviderName = "raft-es";

    private readonly bool _keepData;

    private EventSourcingCluster(InProcessTestCluster cluster, InMemoryRaftStorageNetwork network, string dataDirectory, bool keepData)
    {
        Cluster = cluster;
        Network = network;
        DataDirectory = dataDirectory;
        _keepData = keepData;
    }

    public InProcessTestCluster Cluster { get; }

    public InMemoryRaftStorageNetwork Network { get; }

    public string DataDirectory { get; }

    public IClusterClient Client => Cluster.Client;

    // dataDirectory: reuse the stores of an earlier cluster (a full restart); the caller then deletes it.
    public static async Task<EventSourcingCluster> StartAsync(Action<RaftLogConsistencyOptions>? configure = null, string? dataDirectory = null)
    {
        const short silos = 3;
        var network = new InMemoryRaftStorageNetwork();
        var keepData = dataDirectory is not null;
        dataDirectory ??= RaftTestCluster.NewDataDirectory();
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddRaftGrainStorage(RaftTestCluster.ProviderName, (RaftGrainStorageOptions o) =>
            {
                o.DataDirectory = dataDirectory;
                o.Network = network;
                for (var i = 0; i < silos; i++)
                {
                    o.Members[$"Silo_{i}"] = "in-memory";
                }
            });
            silo.AddRaftLogConsistencyProvider(ProviderName, o =>
            {
                o.GrainStorageName = RaftTestCluster.ProviderName;
                configure?.Invoke(o);
            });
        });
        var cluster = builder.Build();
        try
        {
            await cluster.DeployAsync();
        }
        catch
        {
            await cluster.DisposeAsync();
            if (!keepData)
            {
                RaftTestCluster.TryDelete(dataDirectory);
            }

            throw;
        }

        return new EventSourcingCluster(cluster, network, dataDirectory, keepData);
    }

    public static RaftGrainStorage Storage(InProcessSiloHandle silo) =>
        (RaftGrainStorage)silo.ServiceProvider.GetRequiredKeyedService<IGrainStorage>(RaftTestCluster.ProviderName);

    public static ILogViewAdaptorFactory Provider(InProcessSiloHandle silo) =>
        silo.ServiceProvider.GetRequiredKeyedService<ILogViewAdaptorFactory>(ProviderName);

    // The event journal of one silo's provider, for driving adaptors directly against the real Raft journal.
    internal static IEventJournal Journal(InProcessSiloHandle silo) => new RaftEventJournal(Storage(silo));

    public InProcessSiloHandle SiloNamed(string name) => Cluster.Silos.Single(s => s.IsActive && s.Name == name);

    public async Task<InProcessSiloHandle> LeaderSiloAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (Cluster.Silos.FirstOrDefault(s => s.IsActive && Storage(s).Node is { IsLeader: true }) is { } leader)
            {
                return leader;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException("No Raft leader among the active silos within 10 s.");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Cluster.StopAllSilosAsync();
        }
        finally
        {
            await Cluster.DisposeAsync();
            if (!_keepData)
            {
                RaftTestCluster.TryDelete(DataDirectory);
            }
        }
    }
}

public sealed class EventSourcingClusterFixture : IAsyncLifetime
{
    public EventSourcingCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await EventSourcingCluster.StartAsync(o => o.SnapshotInterval = 10);

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class EventSourcingClusterCollection : ICollectionFixture<EventSourcingClusterFixture>
{
    public const string Name = "event-sourcing 3-silo cluster";
}
