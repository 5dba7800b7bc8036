using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Raft.Testing.Processes;
using ReplicatedCounter;

namespace Benchmarks.Orleans;

/// <summary>
/// N Orleans silos and a client in this process, each silo a generic host with real TCP endpoints on loopback (silo to
/// silo, client to gateway), sharing one in-memory membership table so that any silo may stop; a temporary data
/// directory that is deleted on dispose; a free endpoint per silo for a Raft node. What runs inside the silos is the
/// caller's: <see cref="OrleansTestClusterOptions.ConfigureSilo"/>.
/// </summary>
/// <example>
/// <code>
/// await using var cluster = await OrleansTestCluster.StartAsync(new OrleansTestClusterOptions
/// {
///     ConfigureSilo = (silo, builder) => builder.AddRaftGrainStorage("raft", (RaftGrainStorageOptions o) =>
///     {
///         o.DataDirectory = silo.DataDirectory;
///         foreach (var (name, address) in silo.RaftMembers) o.Members[name] = address;
///     }),
/// });
/// await cluster.Client.GetGrain&lt;IMyGrain&gt;("k").DoAsync();
/// </code>
/// </example>
public sealed class OrleansTestCluster : IAsyncDisposable
{
    private readonly OrleansTestClusterOptions _options;
    private readonly SharedMembershipTable _membership = new();
    private readonly int[] _siloPorts;
    private readonly int[] _gatewayPorts;
    private readonly IHost?[] _silos;
    private IHost? _client;

    private OrleansTestCluster(OrleansTestClusterOptions options)
    {
        _options = options;
        var silos = options.Silos;
        SiloNames = [.. Enumerable.Range(0, silos).Select(i => $"silo{i}")];
        _siloPorts = [.. Enumerable.Range(0, silos).Select(_ => FreePorts.Next())];
        _gatewayPorts = [.. Enumerable.Range(0, silos).Select(_ => FreePorts.Next())];
        RaftMembers = SiloNames.ToDictionary(n => n, _ => $"127.0.0.1:{FreePorts.Next()}", StringComparer.Ordinal);
        _silos = new IHost?[silos];
        DataDirectory = Path.Combine(options.DataRoot ?? Path.GetTempPath(), $"orleans-cluster-{Guid.NewGuid():N}");
        Directory.CreateDirectory(DataDirectory);
    }

    /// <summary>The silos' names, by index.</summary>
    public IReadOnlyList<string> SiloNames { get; }

    /// <summary>The Raft endpoint reserved for each silo: silo name → <c>127.0.0.1:port</c>.</summary>
    public IReadOnlyDictionary<string, string> RaftMembers { get; }

    /// <summary>The temporary data directory (deleted on dispose).</summary>
    public string DataDirectory { get; }

    /// <summary>The client, connected to every silo's gateway.</summary>
    public IClusterClient Client => _client?.Services.GetRequiredService<IClusterClient>() ?? throw new InvalidOperationException("The cluster's client is not running.");

    /// <summary>Builds and starts the silos (all at once), then the client.</summary>
    /// <param name="options">What to build.</param>
    /// <returns>The running cluster; dispose it to stop everything and delete its data.</returns>
    public static async Task<OrleansTestCluster> StartAsync(OrleansTestClusterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Silos < 1)
        {
            throw new ArgumentException($"Silos must be at least 1 (was {options.Silos}).", nameof(options));
        }

        var cluster = new OrleansTestCluster(options);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, options.Silos).Select(cluster.StartSiloAsync));
            await cluster.StartClientAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Whether silo <paramref name="index"/> is running.</summary>
    /// <param name="index">The silo.</param>
    /// <returns>True while it runs.</returns>
    public bool IsRunning(int index) => _silos[index] is not null;

    /// <summary>The services of running silo <paramref name="index"/>.</summary>
    /// <param name="index">The silo.</param>
    /// <returns>Its service provider.</returns>
    public IServiceProvider Services(int index) =>
        _silos[index]?.Services ?? throw new InvalidOperationException($"Silo {SiloNames[index]} is not running.");

    /// <summary>Starts silo <paramref name="index"/> (again), with the same name, ports and data directory.</summary>
    /// <param name="index">The silo.</param>
    /// <returns>A task that completes once the silo is active.</returns>
    public async Task StartSiloAsync(int index)
    {
        if (_silos[index] is not null)
        {
            throw new InvalidOperationException($"Silo {SiloNames[index]} is already running.");
        }

        var host = BuildSilo(index);
        try
        {
            await host.StartAsync();
        }
        catch
        {
            host.Dispose();
            throw;
        }

        _silos[index] = host;
    }

    /// <summary>Stops silo <paramref name="index"/> gracefully (its grains deactivate, its providers stop).</summary>
    /// <param name="index">The silo.</param>
    /// <returns>A task that completes once the silo stopped.</returns>
    public async Task StopSiloAsync(int index)
    {
        if (Interlocked.Exchange(ref _silos[index], null) is { } host)
        {
            try
            {
                await host.StopAsync();
            }
            finally
            {
                host.Dispose();
            }
        }
    }

    /// <summary>Stops the client and every silo, then deletes the data directory.</summary>
    /// <returns>A task that completes when everything stopped.</returns>
    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Interlocked.Exchange(ref _client, null) is { } client)
            {
                await client.StopAsync();
                client.Dispose();
            }

            for (var i = 0; i < _silos.Length; i++)
            {
                await StopSiloAsync(i);
            }
        }
        finally
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"could not delete {DataDirectory}: {ex.Message}");
            }
        }
    }

    private IHost BuildSilo(int index)
    {
        var context = new OrleansSiloContext(index, SiloNames[index], DataDirectory, RaftMembers);
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        ConfigureLogging(builder.Logging);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o => (o.ServiceId, o.ClusterId) = (_options.ClusterId, _options.ClusterId));
            silo.Configure<SiloOptions>(o => o.SiloName = context.Name);
            silo.ConfigureEndpoints(IPAddress.Loopback, _siloPorts[index], _gatewayPorts[index]);
            silo.Services.AddSingleton<IMembershipTable>(_membership);
            _options.ConfigureSilo?.Invoke(context, silo);
        });
        return builder.Build();
    }

    private async Task StartClientAsync()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        ConfigureLogging(builder.Logging);
        builder.UseOrleansClient(client =>
        {
            client.UseLocalhostClustering(_gatewayPorts, _options.ClusterId, _options.ClusterId);
            _options.ConfigureClient?.Invoke(client);
        });
        var host = builder.Build();
        await host.StartAsync();
        _client = host;
    }

    private void ConfigureLogging(ILoggingBuilder logging)
    {
        logging.SetMinimumLevel(_options.LogLevel)
            .AddFilter("Orleans.Runtime.Silo", LogLevel.Error)       // ServerGC advice at start-up
            .AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error)   // CPU starvation notes on a busy machine
            .AddSimpleConsole(o => o.SingleLine = true);
    }
}
