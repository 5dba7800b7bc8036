using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using BankAccount;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Raft.Storage;
using Orleans.Storage;
using ReplicatedCounter;

// A 3-silo Orleans cluster in this process with event-sourced bank accounts whose events are replicated by Raft:
// clients deposit and withdraw on many accounts, the silo whose Raft node leads is stopped mid-run, and at the end
// every account's balance and event history are checked against the operations the clients saw acknowledged.
// Exit code 0 when every account is right, 1 otherwise.
const int SiloCount = 3;
const int Accounts = 40;
const int Workers = 8;
var phase = TimeSpan.FromSeconds(3);
var dataDirectory = Path.Combine(Path.GetTempPath(), $"bank-account-{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}");
Console.WriteLine($"Raft data: {dataDirectory}");

var serviceId = "bank-account";
var membership = new SharedMembershipTable();
var siloNames = Enumerable.Range(0, SiloCount).Select(i => $"silo{i}").ToArray();
var raftAddresses = siloNames.ToDictionary(n => n, _ => $"127.0.0.1:{FreePort()}");
var gatewayPorts = new int[SiloCount];
var silos = new IHost[SiloCount];

IHost BuildSilo(int i)
{
    var siloPort = FreePort();
    gatewayPorts[i] = FreePort();
    var builder = Host.CreateApplicationBuilder();
    builder.Logging.SetMinimumLevel(LogLevel.Warning)
        .AddFilter("Orleans.Runtime.Silo", LogLevel.Error)       // ServerGC advice
        .AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error)   // CPU starvation notes on a busy machine
        .AddFilter("Orleans.Raft", LogLevel.Error)                // retries while the leader's silo stops are expected
        .AddFilter("Raft", LogLevel.Error)
        .AddFilter("Grpc", LogLevel.Critical);
    builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
    builder.UseOrleans(silo =>
    {
        silo.Configure<ClusterOptions>(o => (o.ServiceId, o.ClusterId) = (serviceId, serviceId));
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
        silo.AddRaftLogConsistencyProvider("raft-es", o =>
        {
            o.GrainStorageName = "raft";
            o.SnapshotInterval = 50;
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
clientBuilder.UseOrleansClient(client => client.UseLocalhostClustering(gatewayPorts, serviceId, serviceId));
using var clientHost = clientBuilder.Build();
await clientHost.StartAsync();
var grains = clientHost.Services.GetRequiredService<IClusterClient>();

// What each operation did, as the client saw it: acknowledged (with the answer) or unknown (failed or timed out).
var acknowledged = new ConcurrentDictionary<long, (int Account, long Amount)>();
var refused = new ConcurrentDictionary<long, int>();
var unknown = new ConcurrentDictionary<long, (int Account, long Amount)>();
var nextOperation = 0L;
using var stop = new CancellationTokenSource();

async Task WorkAsync(int worker)
{
    var random = new Random(worker);
    while (!stop.IsCancellationRequested)
    {
        var account = random.Next(Accounts);
        var operation = Interlocked.Increment(ref nextOperation);
        var amount = (long)random.Next(1, 100);
        var deposit = random.Next(3) != 0;
        var grain = grains.GetGrain<IAccountGrain>($"account-{account}");
        try
        {
            if (deposit)
            {
                await grain.Deposit(operation, amount);
                acknowledged[operation] = (account, amount);
            }
            else if (await grain.Withdraw(operation, amount))
            {
                acknowledged[operation] = (account, -amount);
            }
            else
            {
                refused[operation] = account;
            }
        }
        catch (Exception ex)
        {
            unknown[operation] = (account, deposit ? amount : -amount);
            if (unknown.Count <= 5)
            {
                Console.WriteLine($"  operation {operation} on account-{account} failed: {ex.GetType().Name}: {ex.Message.Split('\n')[0]}");
            }

            await Task.Delay(50);
        }
    }
}

var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(() => WorkAsync(w))).ToArray();
await Task.Delay(phase);
Console.WriteLine($"after {phase.TotalSeconds:F0} s: {acknowledged.Count} operations acknowledged");

var leaderIndex = Math.Max(0, Array.FindIndex(silos, s => Storage(s).Node?.IsLeader == true));
Console.WriteLine($"stopping {siloNames[leaderIndex]}, the silo whose Raft node leads, while the clients keep going");
await silos[leaderIndex].StopAsync();
var survivors = silos.Where((_, i) => i != leaderIndex).ToArray();
await Task.Delay(phase);
stop.Cancel();
await Task.WhenAll(workers);
Console.WriteLine($"done: {acknowledged.Count} operations acknowledged ({refused.Count} withdrawals refused for lack of money), {unknown.Count} failed or unknown");

// Every account: the history holds each acknowledged operation exactly once, nothing the clients did not send, at most
// once each unknown one; the balance is the sum of the history and never went below zero.
var ok = true;
var checkedEvents = 0;
for (var account = 0; account < Accounts; account++)
{
    var grain = grains.GetGrain<IAccountGrain>($"account-{account}");
    var history = await grain.History();
    var balance = await grain.Balance();
    var problems = new List<string>();
    var ids = history.Select(h => h.OperationId).ToList();
    if (ids.Count != ids.Distinct().Count())
    {
        problems.Add("an operation appears twice");
    }

    foreach (var (operation, (owner, amount)) in acknowledged.Where(a => a.Value.Account == account))
    {
        if (!history.Contains(new HistoryEntry(operation, amount)))
        {
            problems.Add($"acknowledged operation {operation} ({amount}) is missing");
        }
    }

    foreach (var entry in history)
    {
        var known = (acknowledged.TryGetValue(entry.OperationId, out var a) && a == (account, entry.Amount))
            || (unknown.TryGetValue(entry.OperationId, out var u) && u == (account, entry.Amount));
        if (!known)
        {
            problems.Add($"operation {entry.OperationId} ({entry.Amount}) was never sent to this account, or was refused");
        }
    }

    long running = 0;
    foreach (var entry in history)
    {
        running += entry.Amount;
        if (running < 0)
        {
            problems.Add($"the balance went below zero at operation {entry.OperationId}");
            break;
        }
    }

    if (running != balance)
    {
        problems.Add($"balance {balance} is not the sum of the history ({running})");
    }

    checkedEvents += history.Length;
    if (problems.Count > 0)
    {
        ok = false;
        Console.WriteLine($"account-{account}: MISMATCH: {string.Join("; ", problems.Take(3))}");
    }
}

Console.WriteLine(ok
    ? $"OK: {Accounts} accounts, {checkedEvents} events checked: every acknowledged operation is in its account's history exactly once and every balance is right, after losing the leader's silo; total {started.Elapsed.TotalSeconds:F1} s"
    : "MISMATCH: see above");

await clientHost.StopAsync();
foreach (var silo in survivors.OrderByDescending(s => Storage(s).Node?.IsLeader == true))
{
    await silo.StopAsync();
}

foreach (var silo in silos)
{
    silo.Dispose();
}

try
{
    Directory.Delete(dataDirectory, recursive: true);
}
catch (IOException)
{
}

return ok ? 0 : 1;

static RaftGrainStorage Storage(IHost silo) => (RaftGrainStorage)silo.Services.GetRequiredKeyedService<IGrainStorage>("raft");

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}
