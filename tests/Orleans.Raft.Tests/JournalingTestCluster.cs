using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Journaling;
using Orleans.Journaling.Json;
using Orleans.Raft.Journaling;
using Orleans.Raft.Networking;
using Orleans.Raft.StateMachine;
using Orleans.Raft.Storage;
using Orleans.TestingHost;

namespace Orleans.Raft.Tests;

// A 3-silo in-process cluster with Raft grain storage and Orleans journaling on it (JSON format), over an in-memory
// network the tests can partition. Journals compact after CompactionRecords records, so tests see compactions.
public sealed class JournalingTestCluster : IAsyncDisposable
{
    public const int CompactionRecords = 4;

    private readonly bool _keepData;

    private JournalingTestCluster(InProcessTestCluster cluster, InMemoryRaftStorageNetwork network, string dataDirectory, bool keepData)
    {
        _keepData = keepData;
        Cluster = cluster;
        Network = network;
        DataDirectory = dataDirectory;
    }

    public InProcessTestCluster Cluster { get; }

    public InMemoryRaftStorageNetwork Network { get; }

    public string DataDirectory { get; }

    public IClusterClient Client => Cluster.Client;

    // dataDirectory: reuse the stores of an earlier cluster (a full restart); the caller then deletes it.
    public static async Task<JournalingTestCluster> StartAsync(string? dataDirectory = null, long snapshotEntryThreshold = 10_000)
    {
        var network = new InMemoryRaftStorageNetwork();
        var keepData = dataDirectory is not null;
        dataDirectory ??= RaftTestCluster.NewDataDirectory();
        var builder = new InProcessTestClusterBuilder(3);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((siloOptions, silo) =>
        {
            silo.AddRaftGrainStorage(RaftTestCluster.ProviderName, (RaftGrainStorageOptions o) =>
            {
                o.DataDirectory = dataDirectory;
                o.Network = network;
                o.SnapshotEntryThreshold = snapshotEntryThreshold;
                for (var i = 0; i < 3; i++)
                {
                    o.Members[$"Silo_{i}"] = "in-memory";
                }
            });
            silo.AddRaftJournalStorage((RaftJournalStorageOptions o) =>
            {
                o.GrainStorageName = RaftTestCluster.ProviderName;
                o.CompactionRecordThreshold = CompactionRecords;
            });
            silo.UseJsonJournalFormat(JournalingTestJsonContext.Default);
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

        return new JournalingTestCluster(cluster, network, dataDirectory, keepData);
    }

    // The journal of a grain as silo i's replica holds it (as of what that replica applied).
    internal StoredJournal? StoredJournal(int silo, GrainId grain) =>
        RaftTestCluster.Storage(Cluster.Silos[silo]).StateMachine.TryGetJournal(RaftJournalStorageProvider.KeyOf(JournalId.FromGrainId(grain)), out var journal)
            ? journal
            : null;

    public async Task<InProcessSiloHandle> WaitForLeaderSiloAsync(TimeSpan timeout, string? notNodeId = null)
    {
        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        while (stopwatch.Elapsed < timeout)
        {
            foreach (var silo in Cluster.Silos.Where(s => s.IsActive))
            {
                if (RaftTestCluster.Storage(silo).Node is { IsLeader: true } node && node.Id != notNodeId)
                {
                    return silo;
                }
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"No Raft leader among the active silos within {timeout}.");
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

public sealed class JournalingClusterFixture : IAsyncLifetime
{
    public JournalingTestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await JournalingTestCluster.StartAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class JournalingClusterCollection : ICollectionFixture<JournalingClusterFixture>
{
    public const string Name = "journaling 3-silo cluster";
}
