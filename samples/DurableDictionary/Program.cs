using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Sockets;
using DurableDictionary;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Journaling.Json;
using Orleans.Raft.Storage;
using Orleans.Storage;
using ReplicatedCounter;

// A 3-silo Orleans cluster in this process whose grains keep their state with Orleans journaling (an
// IDurableDictionary of stock per warehouse) on Raft: the journals are replicated by the silos' Raft group. Clients
// receive stock, the silo whose Raft node leads is stopped mid-run, the others keep going, and the final stock is checked
// against the receipts the clients saw acknowledged. Exit code 0 when everything checks out, 1 otherwise.
const int SiloCount = 3;
const int Warehouses = 4;
const int Items = 8;
const int Workers = 8;
var phase = TimeSpan.FromSeconds(3);
var keepData = args.Contains("--keep-data");

var dataDirectory = Path.Combine(Path.GetTempPath(), $"durable-dictionary-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}");
Console.WriteLine($"Raft data: {dataDirectory}");

const string ServiceId = "durable-dictionary";
var membership = new SharedMembershipTable();
var siloNames = Enumerable.Range(0, SiloCount).Select(i => $"silo{i}").ToArray();
var raftAddresses = siloNames.ToDictionary(n => n, _ => $"127.0.0.1:{FreePort()}");
Console.WriteLine($"Raft members: {string.Join(", ", raftAddresses.Select(m => $"{m.Key}={m.Value}"))}");
var gatewayPorts = new int[SiloCount];

// Compactions, counted from the provider's metric (orleans.raft.journaling.compactions on the "Orleans.Raft" meter).
var compactions = 0L;
using var meterListener = new MeterListener();
meterListener.InstrumentPublished = (instrument, listener) =>
{
    if (instrument.Meter.Name == "Orleans.Raft" && instrument.Name == "orleans.raft.journaling.compactions")
    {
        listener.EnableMeasurementEvents(instrument);
    }
};
meterListener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref compactions, value));
meterListener.Start();

IHost BuildSilo(int i)
{
    var siloPort = FreePort();
    gatewayPorts[i] = FreePort();
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.SetMinimumLevel(LogLevel.Warning)
        .AddFilter("Orleans.Raft", LogLevel.Information)
        .AddFilter("Orleans.Raft.Journaling", LogLevel.Warning)
        .AddFilter("Orleans.Runtime.Silo", LogLevel.Error)       // ServerGC advice
        .AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error)   // CPU starvation notes on a busy machine
        .AddFilter("Raft", LogLevel.Error)                        // peers' streams ending as a silo stops are expected
        .AddFilter("Grpc", LogLevel.Critical);                    // calls cut short by a stopping silo (retried by the provider)
    builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
    builder.UseOrleans(silo =>
    {
        silo.Configure<ClusterOptions>(o => (o.ServiceId, o.ClusterId) = (ServiceId, ServiceId));
        silo.Configure<SiloOptions>(o => o.SiloName = siloNames[i]);
        silo.ConfigureEndpoints(IPAddress.Loopback, siloPort, gatewayPorts[i]);
        silo.Services.AddSingleton<IMembershipTable>(membership);
        silo.AddRaftGrainStorage("raft", (RaftGrainStorageOptions o) =>
        {
            o.DataDirectory = dataDirectory;
            foreach (var (name, address) in raftAddresses)
            {
                o.Members[name] = address;
            }
        });
        silo.AddRaftJournalStorage((RaftJournalStorageOptions o) =>
        {
            o.GrainStorageName = "raft";            // the journals live in this Raft grain storage's replicated store
            o.CompactionRecordThreshold = 64;       // compact often, to show it
        });
        silo.UseJsonJournalFormat(InventoryJsonContext.Default);
    });
    return builder.Build();
}

var started = Stopwatch.StartNew();
var silos = Enumerable.Range(0, SiloCount).Select(BuildSilo).ToArray();
await Task.WhenAll(silos.Select(s => s.StartAsync()));
Console.WriteLine($"{SiloCount} silos started in {started.Elapsed.TotalSeconds:F1} s");

var clientBuilder = Host.CreateApplicationBuilder();
clientBuilder.Logging.SetMinimumLevel(LogLevel.Error);
clientBuilder.UseOrleansClient(client => client.UseLocalhostClustering(gatewayPorts, ServiceId, ServiceId));
using var clientHost = clientBuilder.Build();
await clientHost.StartAsync();
var grains = clientHost.Services.GetRequiredService<IClusterClient>();

// Per warehouse and item: units acknowledged, and units of calls that failed (which may or may not have been applied).
var acknowledged = new long[Warehouses, Items];
var uncertain = new long[Warehouses, Items];
var acknowledgedReceipts = new long[Warehouses];
var uncertainReceipts = new long[Warehouses];
var failures = 0L;
using var stop = new CancellationTokenSource();

async Task WorkAsync(int worker)
{
    var random = new Random(worker);
    while (!stop.IsCancellationRequested)
    {
        var (warehouse, item, quantity) = (random.Next(Warehouses), random.Next(Items), random.Next(1, 10));
        try
        {
            await grains.GetGrain<IInventoryGrain>($"warehouse-{warehouse}").Receive($"item-{item}", quantity);
            Interlocked.Add(ref acknowledged[warehouse, item], quantity);
            Interlocked.Increment(ref acknowledgedReceipts[warehouse]);
        }
        catch (Exception ex)
        {
            Interlocked.Add(ref uncertain[warehouse, item], quantity);
            Interlocked.Increment(ref uncertainReceipts[warehouse]);
            if (Interlocked.Increment(ref failures) <= 5)
            {
                Console.WriteLine($"  receipt at warehouse-{warehouse} failed: {ex.GetType().Name}: {FirstLine(ex.Message)}");
            }

            await Task.Delay(50);
        }
    }
}

var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(() => WorkAsync(w))).ToArray();
await Task.Delay(phase);
// On a cold or busy machine the first calls (activations, JIT) can take the whole phase: stop the leader only mid-run.
var warmup = Stopwatch.StartNew();
while (Interlocked.Read(ref acknowledgedReceipts[0]) + Interlocked.Read(ref acknowledgedReceipts[1]) < 20 && warmup.Elapsed < TimeSpan.FromSeconds(60))
{
    await Task.Delay(100);
}

Console.WriteLine($"after {phase.TotalSeconds:F0} s: {acknowledgedReceipts.Sum()} receipts acknowledged, {Interlocked.Read(ref compactions)} journal compactions");

var leaderIndex = Array.FindIndex(silos, s => Storage(s).Node?.IsLeader == true);
if (leaderIndex < 0)
{
    leaderIndex = 0;
}

Console.WriteLine($"stopping {siloNames[leaderIndex]}, the silo whose Raft node leads, while the clients keep going");
var stopWatch = Stopwatch.StartNew();
await silos[leaderIndex].StopAsync();
Console.WriteLine($"{siloNames[leaderIndex]} stopped in {stopWatch.Elapsed.TotalSeconds:F1} s");
var survivors = silos.Where((_, i) => i != leaderIndex).ToArray();
Console.WriteLine($"Raft leader now: {survivors.Select(s => Storage(s).Node?.Status.LeaderId).FirstOrDefault(l => l is not null) ?? "(election in progress)"}");

await Task.Delay(phase);
stop.Cancel();
await Task.WhenAll(workers);
Console.WriteLine($"done: {acknowledgedReceipts.Sum()} receipts acknowledged, {uncertainReceipts.Sum()} failed or unknown, {Interlocked.Read(ref compactions)} journal compactions");

// Every warehouse is deactivated so that its stock is replayed from the replicated journal, then checked:
// acknowledged <= stored <= acknowledged + unacknowledged, per item and for the receipt count.
var ok = true;
Console.WriteLine();
Console.WriteLine("warehouse     receipts (ack/unack)  items checked  check");
var management = grains.GetGrain<IManagementGrain>(0);
await management.ForceActivationCollection(TimeSpan.Zero);
for (var w = 0; w < Warehouses; w++)
{
    var grain = grains.GetGrain<IInventoryGrain>($"warehouse-{w}");
    var stock = await grain.Stock();
    var receipts = await grain.Receipts();
    var fine = receipts >= acknowledgedReceipts[w] && receipts <= acknowledgedReceipts[w] + uncertainReceipts[w];
    for (var i = 0; i < Items; i++)
    {
        var stored = stock.GetValueOrDefault($"item-{i}");
        fine &= stored >= acknowledged[w, i] && stored <= acknowledged[w, i] + uncertain[w, i];
    }

    fine &= stock.Keys.All(k => k.StartsWith("item-", StringComparison.Ordinal));
    ok &= fine;
    Console.WriteLine($"warehouse-{w,-3} {receipts,8} ({acknowledgedReceipts[w]}/{uncertainReceipts[w]}) {Items,14}  {(fine ? "ok" : "MISMATCH")}");
}

Console.WriteLine();
Console.WriteLine(ok
    ? $"OK: every acknowledged receipt is in the replicated journals ({acknowledgedReceipts.Sum()} acknowledged) after losing the leader's silo; total {started.Elapsed.TotalSeconds:F1} s"
    : "MISMATCH: stored stock differs from the acknowledged receipts");

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

static string FirstLine(string text) => text.Split('\n')[0].Trim();

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}
