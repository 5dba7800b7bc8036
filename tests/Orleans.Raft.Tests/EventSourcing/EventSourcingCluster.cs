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

    private readonly RaftTestCluster _raft;

    private EventSourcingCluster(RaftTestCluster raft) => _raft = raft;

    public InProcessTestCluster Cluster => _raft.Cluster;

    public InMemoryRaftStorageNetwork Network => _raft.Network;

    public string DataDirectory => _raft.DataDirectory;

    public IClusterClient Client => _raft.Client;

    // dataDirectory: reuse the stores of an earlier cluster (a full restart); the caller then deletes it.
    public static async Task<EventSourcingCluster> StartAsync(Action<RaftLogConsistencyOptions>? configure = null, string? dataDirectory = null) =>
        new(await RaftTestCluster.StartAsync(
            dataDirectory: dataDirectory,
            configureSilo: silo => silo.AddRaftLogConsistencyProvider(ProviderName, o =>
            {
                o.GrainStorageName = RaftTestCluster.ProviderName;
                configure?.Invoke(o);
            })));

    public static RaftGrainStorage Storage(InProcessSiloHandle silo) => RaftTestCluster.Storage(silo);

    public static ILogViewAdaptorFactory Provider(InProcessSiloHandle silo) =>
        silo.ServiceProvider.GetRequiredKeyedService<ILogViewAdaptorFactory>(ProviderName);

    // The event journal of one silo's provider, for driving adaptors directly against the real Raft journal.
    internal static IEventJournal Journal(InProcessSiloHandle silo) => new RaftEventJournal(Storage(silo));

    public InProcessSiloHandle SiloNamed(string name) => Cluster.Silos.Single(s => s.IsActive && s.Name == name);

    public Task<InProcessSiloHandle> LeaderSiloAsync() => _raft.WaitForLeaderSiloAsync(TimeSpan.FromSeconds(10));

    public ValueTask DisposeAsync() => _raft.DisposeAsync();
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
