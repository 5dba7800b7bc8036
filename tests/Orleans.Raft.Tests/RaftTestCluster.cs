using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Raft.Networking;
using Orleans.Raft.Storage;
using Orleans.Storage;
using Orleans.TestingHost;
using Raft.Testing.Processes;

namespace Orleans.Raft.Tests;

// A 3-silo in-process Orleans cluster whose silos replicate grain state through the Raft provider, over an in-memory
// network the tests can partition, with durable stores under a temporary directory.
public sealed class RaftTestCluster : IAsyncDisposable
{
    public const string ProviderName = "raft";

    private readonly bool _keepData;

    private RaftTestCluster(InProcessTestCluster cluster, InMemoryRaftStorageNetwork network, string dataDirectory, bool keepData)
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

    // useGrpc: the provider's default network (a Kestrel endpoint per silo on a free loopback port) instead of the
    // in-memory one; Network then cannot partition anything.
    // dataDirectory: reuse the stores of an earlier cluster (a full restart); the caller then deletes it.
    // configureSilo: more for every silo beside the Raft grain storage (the providers built on it).
    public static async Task<RaftTestCluster> StartAsync(
        short silos = 3,
        Action<RaftGrainStorageOptions>? configure = null,
        bool useGrpc = false,
        string? dataDirectory = null,
        Action<ISiloBuilder>? configureSilo = null)
    {
        var network = new InMemoryRaftStorageNetwork();
        var keepData = dataDirectory is not null;
        var addresses = Enumerable.Range(0, silos).Select(_ => useGrpc ? $"127.0.0.1:{FreePorts.Next()}" : "in-memory").ToArray();
        dataDirectory ??= NewDataDirectory();
        var builder = new InProcessTestClusterBuilder(silos);
        builder.Options.ConfigureFileLogging = false;
        builder.ConfigureSilo((siloOptions, silo) =>
        {
            silo.AddRaftGrainStorage(ProviderName, (RaftGrainStorageOptions o) =>
            {
                o.DataDirectory = dataDirectory;
                o.Network = useGrpc ? null : network;
                for (var i = 0; i < silos; i++)
                {
                    o.Members[$"Silo_{i}"] = addresses[i];
                }

                configure?.Invoke(o);
            });
            configureSilo?.Invoke(silo);
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
                TryDelete(dataDirectory);
            }

            throw;
        }

        return new RaftTestCluster(cluster, network, dataDirectory, keepData);
    }

    public static RaftGrainStorage Storage(InProcessSiloHandle silo) =>
        (RaftGrainStorage)silo.ServiceProvider.GetRequiredKeyedService<IGrainStorage>(ProviderName);

    public IEnumerable<RaftGrainStorage> Storages => Cluster.Silos.Where(s => s.IsActive).Select(Storage);

    // The active silo whose Raft node leads, once one does.
    public async Task<InProcessSiloHandle> WaitForLeaderSiloAsync(TimeSpan timeout, string? notNodeId = null)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < timeout)
        {
            foreach (var silo in Cluster.Silos.Where(s => s.IsActive))
            {
                if (Storage(silo).Node is { IsLeader: true } node && node.Id != notNodeId)
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
                TryDelete(DataDirectory);
            }
        }
    }

    public static string NewDataDirectory() => Path.Combine(Path.GetTempPath(), "orleans-raft-tests", Guid.NewGuid().ToString("N"));

    public static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

// One cluster shared by the tests of a collection (the first start in a process costs most: JIT).
public sealed class SharedClusterFixture : IAsyncLifetime
{
    public RaftTestCluster Cluster { get; private set; } = null!;

    public async Task InitializeAsync() => Cluster = await RaftTestCluster.StartAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class SharedClusterCollection : ICollectionFixture<SharedClusterFixture>
{
    public const string Name = "shared 3-silo cluster";
}
