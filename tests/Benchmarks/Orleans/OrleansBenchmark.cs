using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Configuration;
using Orleans.Raft.Networking;
using Orleans.Raft.Storage;
using Orleans.Storage;

namespace Benchmarks.Orleans;

/// <summary>
/// 3 silos and a client in one process; G counter grains per provider, C callers each looping "pick a random grain,
/// <c>Increment()</c>" (one <c>State.Value++; await WriteStateAsync()</c> per call). Rounds alternate between the
/// providers, so both see the same machine load; the median round of each is compared.
/// </summary>
internal static class OrleansBenchmark
{
    public const string RaftProvider = "raft";
    public const string MemoryProvider = "memory";

    public static async Task<int> RunAsync(OrleansBenchmarkSettings settings)
    {
        Console.WriteLine($"load average before: {LoadAverage()}");
        var providers = settings.Providers switch
        {
            "raft" => new[] { RaftProvider },
            "memory" => [MemoryProvider],
            _ => [MemoryProvider, RaftProvider],
        };
        var results = providers.ToDictionary(p => p, _ => new List<OrleansBenchmarkResult>());
        var clusterRatios = new List<double>();
        for (var index = 0; index < settings.Clusters; index++)
        {
            if (settings.Clusters > 1)
            {
                Console.WriteLine($"cluster {index + 1} of {settings.Clusters}");
            }

            var clusterResults = await RunClusterAsync(settings, providers);
            foreach (var (provider, rounds) in clusterResults)
            {
                results[provider].AddRange(rounds);
            }

            if (clusterResults.Count == 2)
            {
                clusterRatios.Add(Median(clusterResults[RaftProvider]).WritesPerSecond / Median(clusterResults[MemoryProvider]).WritesPerSecond);
            }
        }

        Console.WriteLine();
        Console.WriteLine($"load average after: {LoadAverage()}");
        Console.WriteLine(OrleansBenchmarkResult.MarkdownHeader);
        var medians = results.ToDictionary(r => r.Key, r => Median(r.Value));
        foreach (var provider in providers)
        {
            Console.WriteLine(medians[provider].ToMarkdownRow());
        }

        if (medians.Count == 2)
        {
            var ratio = medians[RaftProvider].WritesPerSecond / medians[MemoryProvider].WritesPerSecond;
            var perCluster = settings.Clusters > 1
                ? string.Create(CultureInfo.InvariantCulture, $"; per cluster {string.Join(", ", clusterRatios.Select(r => r.ToString("P0", CultureInfo.InvariantCulture)))}")
                : "";
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture, $"Raft ({settings.RaftPlacement} placement) / in-memory throughput (median rounds): {ratio:P0} (target ≥ 60 %){perCluster}"));
        }

        return results.Values.SelectMany(r => r).Any(r => r.Writes == 0) ? 1 : 0;
    }

    // The median round (the lower of the two middle ones for an even count).
    private static OrleansBenchmarkResult Median(List<OrleansBenchmarkResult> rounds) =>
        rounds.OrderBy(x => x.WritesPerSecond).ElementAt((rounds.Count - 1) / 2);

    // One fresh cluster: start it, activate every provider's counters, warm up, then the measured rounds.
    private static async Task<Dictionary<string, List<OrleansBenchmarkResult>>> RunClusterAsync(OrleansBenchmarkSettings settings, string[] providers)
    {
        using var routing = new RaftWriteRouting();
        var raftNetwork = settings.InMemoryNetwork ? new InMemoryRaftStorageNetwork() : null;
        using var tls = settings.Tls ? new RaftTlsMaterial() : null;
        var started = Stopwatch.StartNew();
        await using var cluster = await OrleansTestCluster.StartAsync(new OrleansTestClusterOptions
        {
            ConfigureSilo = (silo, builder) =>
            {
                builder.AddMemoryGrainStorage(MemoryProvider);
                builder.AddRaftGrainStorage(RaftProvider, (RaftGrainStorageOptions o) =>
                {
                    o.DataDirectory = silo.DataDirectory;
                    o.Network = (IRaftStorageNetwork?)tls?.Network(silo.Name) ?? raftNetwork;
                    o.SnapshotEntryThreshold = settings.SnapshotEntryThreshold ?? o.SnapshotEntryThreshold;
                    foreach (var (name, address) in silo.RaftMembers)
                    {
                        o.Members[name] = address;
                    }
                });
            },
        });
        var leader = await WaitForRaftLeaderAsync(cluster, TimeSpan.FromSeconds(30));
        Console.WriteLine(
            $"3 silos started in {started.Elapsed.TotalSeconds:F1} s; data in {cluster.DataDirectory}; Raft over {(settings.InMemoryNetwork ? "the in-memory network" : settings.Tls ? "gRPC with mutual TLS" : "gRPC")}, leader {leader}, Raft counters' placement: {settings.RaftPlacement}");

        var results = providers.ToDictionary(p => p, _ => new List<OrleansBenchmarkResult>());
        foreach (var provider in providers)
        {
            var activation = Stopwatch.StartNew();
            await ActivateAsync(cluster.Client, provider, settings);
            Console.WriteLine($"{provider}: {settings.Grains} grains activated and written once in {activation.Elapsed.TotalSeconds:F1} s");
        }

        Console.WriteLine($"Raft counters' placement decisions: {routing.Placements()}; writes forwarded to the leader so far: {routing.Forwarded}");
        Console.WriteLine($"activations per silo: {await ActivationsPerSiloAsync(cluster.Client)}");

        // JIT and tiered re-compilation go on for many seconds after the first calls: give each provider one
        // unmeasured round first, so the measured ones compare steady states.
        if (settings.WarmupRoundSeconds > 0)
        {
            foreach (var provider in providers)
            {
                var warmup = await MeasureAsync(cluster, provider, settings with { Seconds = settings.WarmupRoundSeconds, WarmupSeconds = 0 });
                Console.WriteLine($"warm-up: {warmup}");
            }
        }

        for (var round = 0; round < settings.Rounds; round++)
        {
            // Alternate which provider goes first, so neither always runs right after the other's activity.
            foreach (var provider in round % 2 == 0 ? providers : providers.Reverse())
            {
                var result = await MeasureAsync(cluster, provider, settings);
                results[provider].Add(result);
                Console.WriteLine($"round {round + 1}: {result}");
            }
        }

        Console.WriteLine($"Raft writes forwarded to the leader, whole cluster run: {routing.Forwarded}");
        return results;
    }

    private static async Task ActivateAsync(IClusterClient client, string provider, OrleansBenchmarkSettings settings)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, settings.Concurrency).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) is var key && key < settings.Grains)
            {
                await Counter(client, provider, settings, key).Increment();
            }
        }));
    }

    private static async Task<OrleansBenchmarkResult> MeasureAsync(OrleansTestCluster cluster, string provider, OrleansBenchmarkSettings settings)
    {
        var client = cluster.Client;
        var histogram = new LatencyHistogram();
        using var stages = new RaftStageLatencies();
        var measuring = 0;
        var stop = 0;
        long writes = 0;
        long errors = 0;
        string? firstError = null;
        var leaderBefore = RaftLeader(cluster);

        async Task CallerAsync(int caller)
        {
            var random = new Random(caller);
            while (Volatile.Read(ref stop) == 0)
            {
                var grain = Counter(client, provider, settings, random.Next(settings.Grains));
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await grain.Increment();
                    if (Volatile.Read(ref measuring) == 1)
                    {
                        histogram.Record((long)Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                        Interlocked.Increment(ref writes);
                    }
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref errors);
                    Interlocked.CompareExchange(ref firstError, $"{ex.GetType().Name}: {ex.Message.Split('\n')[0]}", null);
                }
            }
        }

        var callers = Enumerable.Range(0, settings.Concurrency).Select(c => Task.Run(() => CallerAsync(c))).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(settings.WarmupSeconds));
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var gen0 = GC.CollectionCount(0);
        var gen2 = GC.CollectionCount(2);
        var workItems = ThreadPool.CompletedWorkItemCount;
        var allocated = GC.GetTotalAllocatedBytes();
        var window = Stopwatch.StartNew();
        Volatile.Write(ref measuring, 1);
        stages.Start();
        await Task.Delay(TimeSpan.FromSeconds(settings.Seconds));
        stages.Stop();
        Volatile.Write(ref measuring, 0);
        var elapsed = window.Elapsed;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var (gen0Count, gen2Count) = (GC.CollectionCount(0) - gen0, GC.CollectionCount(2) - gen2);
        workItems = ThreadPool.CompletedWorkItemCount - workItems;
        allocated = GC.GetTotalAllocatedBytes() - allocated;
        Volatile.Write(ref stop, 1);
        await Task.WhenAll(callers);

        var count = Interlocked.Read(ref writes);
        return new OrleansBenchmarkResult(
            provider,
            settings,
            count,
            count / elapsed.TotalSeconds,
            histogram.Percentile(50),
            histogram.Percentile(99),
            count == 0 ? double.NaN : cpu.TotalMicroseconds / count,
            count == 0 ? double.NaN : (double)workItems / count,
            count == 0 ? double.NaN : (double)allocated / count,
            stages.Commit.Percentile(50),
            stages.Append.Percentile(50),
            gen0Count,
            gen2Count,
            Interlocked.Read(ref errors),
            firstError,
            provider == RaftProvider && leaderBefore != RaftLeader(cluster));
    }

    private static IBenchCounterGrain Counter(IClusterClient client, string provider, OrleansBenchmarkSettings settings, int key) => provider switch
    {
        RaftProvider when settings.RaftPlacement == "leader" => client.GetGrain<ILeaderPlacedRaftBenchCounterGrain>(key),
        RaftProvider => client.GetGrain<IRaftBenchCounterGrain>(key),
        _ => client.GetGrain<IMemoryBenchCounterGrain>(key),
    };

    private static string? RaftLeader(OrleansTestCluster cluster) => Enumerable.Range(0, cluster.SiloNames.Count)
        .Where(cluster.IsRunning)
        .Select(i => RaftStorage(cluster, i).Node)
        .FirstOrDefault(n => n?.IsLeader == true)?.Id;

    private static RaftGrainStorage RaftStorage(OrleansTestCluster cluster, int silo) =>
        (RaftGrainStorage)cluster.Services(silo).GetRequiredKeyedService<IGrainStorage>(RaftProvider);

    private static async Task<string> WaitForRaftLeaderAsync(OrleansTestCluster cluster, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (stopwatch.Elapsed < timeout)
        {
            // Every silo must know the leader, not only the leader itself: a follower silo that has not heard from it yet
            // places leader-placed grains at random ("no_leader"), and their writes are forwarded for the whole run.
            if (RaftLeader(cluster) is { } leader && Enumerable.Range(0, cluster.SiloNames.Count)
                    .Where(cluster.IsRunning)
                    .All(i => RaftStorage(cluster, i).Node?.Status.LeaderId == leader))
            {
                return leader;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"No Raft leader among the silos within {timeout}.");
    }

    // Where Orleans placed the counters and the in-memory provider's storage grains (randomly, for both): how many of
    // a write's calls cross silos depends on it, and with it the in-memory provider's throughput from run to run.
    private static async Task<string> ActivationsPerSiloAsync(IClusterClient client)
    {
        var statistics = await client.GetGrain<IManagementGrain>(0).GetSimpleGrainStatistics();
        return string.Join("; ", statistics
            .Where(s => s.GrainType.Contains("BenchCounter", StringComparison.Ordinal) || s.GrainType.Contains("MemoryStorageGrain", StringComparison.Ordinal))
            .GroupBy(s => s.GrainType)
            .Select(g => $"{ShortTypeName(g.Key)} {string.Join(" / ", g.OrderBy(s => s.SiloAddress.ToString()).Select(s => $"{s.SiloAddress.Endpoint.Port}:{s.ActivationCount}"))}"));

        static string ShortTypeName(string type) => type.Split(',')[0].Split('.')[^1];
    }

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "unknown";
        }
    }
}
