using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Raft.Core.Engine;
using Raft.Testing.Processes;
using Raft.Transport.Grpc.Client;
using SampleCounter = ReplicatedCounter.ICounterGrain;
using Xunit.Abstractions;

namespace Orleans.Raft.Tests;

// Real crashes: three silo processes of the ReplicatedCounter sample (gRPC between the Raft nodes, FASTER on disk,
// Orleans membership in a shared file), a client in this process incrementing counters throughout, and SIGKILL of
// the silo whose Raft node leads, then of a silo hosting a grain, each restarted from its own directory. Every
// acknowledged increment must be in the store, and none may be applied twice.
[Trait("Category", "Slow")]
public sealed class ProcessKillTests(ITestOutputHelper output)
{
    private const string SampleServiceId = "replicated-counter";  // the sample's ServiceId and ClusterId
    private const int Counters = 12;
    private const int Workers = 6;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task SigkillOfLeaderSiloThenOfGrainSilo_KeepsEveryAcknowledgedIncrementAndAppliesNoneTwice()
    {
        var clock = Stopwatch.StartNew();
        var data = RaftTestCluster.NewDataDirectory();
        var ports = SiloPorts.Free(3, FreePorts.Next);
        var silos = Enumerable.Range(0, 3).Select(i => new SiloProcess(i, ports, data)).ToArray();
        try
        {
            await Task.WhenAll(silos.Select(s => s.StartAsync(StartTimeout)));
            Log(clock, "3 silo processes ready");
            using var clientHost = await StartClientAsync(ports);
            var grains = clientHost.Services.GetRequiredService<IClusterClient>();
            await using var raft = new GrpcRaftClient(new GrpcRaftClientOptions
            {
                ClusterId = $"{SampleServiceId}/raft",
                Endpoints = ports.RaftEndpoints,
                AttemptTimeout = TimeSpan.FromSeconds(2),
                RetryBudget = TimeSpan.FromSeconds(5),
            });

            var history = new History(Counters);
            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, Workers).Select(w => Task.Run(() => IncrementAsync(grains, history, w, stop.Token))).ToArray();
            await Task.Delay(Phase);

            // Round 1: the silo whose Raft node leads dies; the others elect a leader and go on; it comes back.
            var leader = await LeaderSiloAsync(raft, silos);
            await KillAndRestartAsync(silos[leader], "the Raft leader's silo", history, clock);

            // Round 2: a silo hosting a grain (not the leader's this time) dies with the activation; it comes back.
            leader = await LeaderSiloAsync(raft, silos);
            var victim = -1;
            for (var i = 0; i < Counters && victim < 0; i++)
            {
                var silo = await WithRetriesAsync(() => grains.GetGrain<SampleCounter>($"counter-{i}").SiloName());
                var index = Array.FindIndex(silos, s => s.Name == silo);
                victim = index != leader ? index : -1;
            }

            Assert.True(victim >= 0, "no counter grain lives outside the leader's silo");
            await KillAndRestartAsync(silos[victim], "a grain's silo (not the leader's)", history, clock);

            await stop.CancelAsync();
            await Task.WhenAll(workers);
            Log(clock, $"workers stopped: {history.Acknowledged} increments acknowledged, {history.Unacknowledged} failed or unknown");

            for (var i = 0; i < Counters; i++)
            {
                var stored = await WithRetriesAsync(() => grains.GetGrain<SampleCounter>($"counter-{i}").ReadStored());
                var acknowledged = history.Values[i].OrderBy(v => v).ToArray();
                var uncertain = Volatile.Read(ref history.Uncertain[i]);
                output.WriteLine($"counter-{i}: stored {stored}, acknowledged {acknowledged.Length}, unacknowledged {uncertain}");

                // Two acknowledged increments that returned the same count: one overwrote the other.
                Assert.Equal(acknowledged.Length, acknowledged.Distinct().Count());

                // Lost: an acknowledged increment is not in the store.
                Assert.True(acknowledged.Length == 0 || stored >= acknowledged[^1], $"counter-{i}: stored {stored} < acknowledged count {acknowledged.LastOrDefault()}");
                Assert.True(stored >= acknowledged.Length, $"counter-{i}: stored {stored} < {acknowledged.Length} acknowledged increments");

                // Applied twice: more in the store than there were increments that could have been applied.
                Assert.True(stored <= acknowledged.Length + uncertain, $"counter-{i}: stored {stored} > {acknowledged.Length} acknowledged + {uncertain} unacknowledged");
            }

            Assert.True(history.Acknowledged > 0, "no increment was acknowledged");
            await clientHost.StopAsync();
            Log(clock, "checked");
        }
        catch
        {
            foreach (var silo in silos)
            {
                output.WriteLine(silo.Output);
            }

            throw;
        }
        finally
        {
            foreach (var silo in silos)
            {
                await silo.DisposeAsync();
            }

            RaftTestCluster.TryDelete(data);
        }
    }

    private async Task KillAndRestartAsync(SiloProcess silo, string what, History history, Stopwatch clock)
    {
        var before = history.Acknowledged;
        await silo.KillAsync();
        Log(clock, $"SIGKILL {silo.Name}, {what}, after {before} acknowledged increments");
        await Task.Delay(Phase);
        await silo.StartAsync(StartTimeout);
        Log(clock, $"{silo.Name} restarted; {history.Acknowledged - before} increments acknowledged meanwhile");
        await Task.Delay(Phase);
    }

    private static async Task IncrementAsync(IClusterClient grains, History history, int worker, CancellationToken stop)
    {
        var random = new Random(worker);
        while (!stop.IsCancellationRequested)
        {
            var counter = random.Next(Counters);
            try
            {
                var value = await grains.GetGrain<SampleCounter>($"counter-{counter}").Increment();
                history.Values[counter].Add(value);
            }
            catch (Exception)
            {
                // Not acknowledged: it may or may not have been applied; the checks allow for it.
                Interlocked.Increment(ref history.Uncertain[counter]);
                await Task.Delay(50, CancellationToken.None);
            }
        }
    }

    // The silo whose Raft node leads, as its peers see it (a leader that was just killed may still be named briefly).
    private static async Task<int> LeaderSiloAsync(GrpcRaftClient raft, SiloProcess[] silos)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var statuses = await raft.GetStatusAsync(includePeers: true);
                if (statuses.FirstOrDefault(s => s is { Reachable: true, Role: StateRole.Leader }) is { } leader
                    && Array.FindIndex(silos, s => s.Name == leader.Id && s.IsRunning) is var index and >= 0)
                {
                    return index;
                }
            }
            catch (RaftClientException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
            }

            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(30), "no Raft leader among the silo processes within 30 s");
            await Task.Delay(100);
        }
    }

    // Calls that reach a silo still finding its feet after a restart may fail; the checks need an answer.
    private static async Task<T> WithRetriesAsync<T>(Func<Task<T>> call)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await call();
            }
            catch (Exception) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
            {
                await Task.Delay(200);
            }
        }
    }

    private static async Task<IHost> StartClientAsync(SiloPorts ports)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Error);
        builder.UseOrleansClient(client =>
        {
            client.UseLocalhostClustering(ports.GatewayPorts, SampleServiceId, SampleServiceId);

            // A call to a killed silo fails within this (it counts as unacknowledged) instead of Orleans' 30 s default.
            client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
        });
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    private void Log(Stopwatch clock, string message) => output.WriteLine($"{clock.Elapsed.TotalSeconds,6:F1} s  {message}");

    private sealed class History(int counters)
    {
        public ConcurrentBag<long>[] Values { get; } = [.. Enumerable.Range(0, counters).Select(_ => new ConcurrentBag<long>())];

        public long[] Uncertain { get; } = new long[counters];

        public long Acknowledged => Values.Sum(v => (long)v.Count);

        public long Unacknowledged => Uncertain.Sum();
    }
}
