using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Raft.Networking;
using Orleans.Raft.Storage;
using Orleans.Storage;
using ReplicatedCounter;

// A 3-silo Orleans cluster in this process whose grain state is replicated by Raft: counter grains are incremented from
// a client, the silo whose Raft node leads is stopped mid-run, the others keep going, and the final counts are checked
// against the increments the client saw acknowledged. Exit code 0 when every count is right, 1 otherwise.
if (OptionValue(args, "--silo") is { } siloIndex)
{
    return await MultiProcess.RunSiloAsync(int.Parse(siloIndex, System.Globalization.CultureInfo.InvariantCulture), args);
}

if (args.Contains("--client"))
{
    return await MultiProcess.RunClientAsync(args);
}

const int SiloCount = 3;
const int Counters = 16;
const int Workers = 8;
var phase = TimeSpan.FromSeconds(3);
var keepData = args.Contains("--keep-data");
var inMemoryNetwork = args.Contains("--in-memory");

var dataDirectory = Path.Combine(Path.GetTempPath(), $"replicated-counter-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}");
Console.WriteLine($"Raft data: {dataDirectory}");

var serviceId = "replicated-counter";
var clusterId = "replicated-counter";
var membership = new SharedMembershipTable();
var network = new InMemoryRaftStorageNetwork();
var siloNames = Enumerable.Range(0, SiloCount).Select(i => $"silo{i}").ToArray();

// Each silo's Raft node gets a gRPC endpoint on a loopback port (or, with --in-memory, an in-process network).
var raftAddresses = siloNames.ToDictionary(n => n, n => inMemoryNetwork ? "in-process" : $"127.0.0.1:{FreePort()}");
Console.WriteLine($"Raft members: {string.Join(", ", raftAddresses.Select(m => $"{m.Key}={m.Value}"))}");
var gatewayPorts = new int[SiloCount];
var silos = new IHost[SiloCount];

IHost BuildSilo(int i)
{
    var siloPort = FreePort();
    gatewayPorts[i] = FreePort();
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.SetMinimumLevel(LogLevel.Warning)
        .AddFilter("Orleans.Raft", LogLevel.Information)
        .AddFilter("Orleans.Runtime.Silo", LogLevel.Error)       // ServerGC advice
        .AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error)   // CPU starvation notes on a busy machine
        .AddFilter("Raft", LogLevel.Error)                        // peers' streams ending as a silo stops are expected
        .AddFilter("Grpc", LogLevel.Critical);                    // calls cut short by a stopping silo (retried by the provider)
    builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
    builder.UseOrleans(silo =>
    {
        silo.Configure<ClusterOptions>(o => (o.ServiceId, o.ClusterId) = (serviceId, clusterId));
        silo.Configure<SiloOptions>(o => o.SiloName = siloNames[i]);
        silo.ConfigureEndpoints(IPAddress.Loopback, siloPort, gatewayPorts[i]);
        silo.Services.AddSingleton<IMembershipTable>(membership);
        silo.AddRaftGrainStorage("raft", (RaftGrainStorageOptions o) =>
        {
            o.DataDirectory = dataDirectory;
            o.Network = inMemoryNetwork ? network : null;   // null: the default gRPC network
            foreach (var (name, address) in raftAddresses)
            {
                o.Members[name] = address;
            }
        });
    });
    return builder.Build();
}

var started = Stopwatch.StartNew();
for (var i = 0; i < SiloCount; i++)
{
    silos[i] = BuildSilo(i);
}

await Task.WhenAll(silos.Select(s => s.StartAsync()));
Console.WriteLine($"{SiloCount} silos started in {started.Elapsed.TotalSeconds:F1} s");

var clientBuilder = Host.CreateApplicationBuilder();
clientBuilder.Logging.SetMinimumLevel(LogLevel.Error);
clientBuilder.UseOrleansClient(client => client.UseLocalhostClustering(gatewayPorts, serviceId, clusterId));
using var clientHost = clientBuilder.Build();
await clientHost.StartAsync();
var grains = clientHost.Services.GetRequiredService<IClusterClient>();

var acknowledged = new long[Counters];
var uncertain = new long[Counters];
var failures = 0L;
using var stop = new CancellationTokenSource();

async Task WorkAsync(int worker)
{
    var random = new Random(worker);
    while (!stop.IsCancellationRequested)
    {
        var counter = random.Next(Counters);
        try
        {
            await grains.GetGrain<ICounterGrain>($"counter-{counter}").Increment();
            Interlocked.Increment(ref acknowledged[counter]);
        }
        catch (Exception ex)
        {
            // Not acknowledged, so it may or may not have been applied; the check allows for it.
            Interlocked.Increment(ref uncertain[counter]);
            if (Interlocked.Increment(ref failures) <= 5)
            {
                Console.WriteLine($"  increment of counter-{counter} failed: {ex.GetType().Name}: {FirstLine(ex.Message)}");
            }

            await Task.Delay(50);
        }
    }
}

var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(() => WorkAsync(w))).ToArray();
await Task.Delay(phase);
Console.WriteLine($"after {phase.TotalSeconds:F0} s: {acknowledged.Sum()} increments acknowledged");

var leaderIndex = Array.FindIndex(silos, s => Storage(s).Node?.IsLeader == true);
if (leaderIndex < 0)
{
    leaderIndex = 0;
}

Console.WriteLine($"stopping {siloNames[leaderIndex]}, the silo whose Raft node leads, while the client keeps going");
var stopWatch = Stopwatch.StartNew();
await silos[leaderIndex].StopAsync();
Console.WriteLine($"{siloNames[leaderIndex]} stopped in {stopWatch.Elapsed.TotalSeconds:F1} s");
var survivors = silos.Where((_, i) => i != leaderIndex).ToArray();
var newLeader = survivors.Select(s => Storage(s).Node?.Status.LeaderId).FirstOrDefault(l => l is not null);
Console.WriteLine($"Raft leader now: {newLeader ?? "(election in progress)"}");

await Task.Delay(phase);
stop.Cancel();
await Task.WhenAll(workers);
Console.WriteLine($"done: {acknowledged.Sum()} increments acknowledged, {uncertain.Sum()} failed or unknown");

// Read every counter again from the store, through the silos still running, and check it.
var ok = true;
Console.WriteLine();
Console.WriteLine("counter      stored  acknowledged  unacknowledged  check");
for (var i = 0; i < Counters; i++)
{
    var stored = await grains.GetGrain<ICounterGrain>($"counter-{i}").ReadStored();
    var fine = stored >= acknowledged[i] && stored <= acknowledged[i] + uncertain[i];
    ok &= fine;
    Console.WriteLine($"counter-{i,-4} {stored,7} {acknowledged[i],13} {uncertain[i],15}  {(fine ? "ok" : "MISMATCH")}");
}

Console.WriteLine();
Console.WriteLine(ok
    ? $"OK: every acknowledged increment is stored ({acknowledged.Sum()} acknowledged) after losing the leader's silo; total {started.Elapsed.TotalSeconds:F1} s"
    : "MISMATCH: a stored count differs from the acknowledged increments");

await clientHost.StopAsync();

// The leader first: it hands leadership to the other survivor, which then stops as a follower.
foreach (var silo in survivors.OrderByDescending(s => Storage(s).Node?.IsLeader == true))
{
    await silo.StopAsync();
}

foreach (var silo in silos)
{
    silo.Dispose();
}

if (!keepData)
{
    try
    {
        Directory.Delete(dataDirectory, recursive: true);
    }
    catch (IOException)
    {
    }
}

return ok ? 0 : 1;

static RaftGrainStorage Storage(IHost silo) => (RaftGrainStorage)silo.Services.GetRequiredKeyedService<IGrainStorage>("raft");

static string? OptionValue(string[] args, string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static string FirstLine(string text) => text.Split('\n')[0].Trim();

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}
