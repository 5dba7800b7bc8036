using System.Diagnostics;
using System.Globalization;
using Benchmarks.Orleans;
using Orleans.Configuration;

namespace Benchmarks.EventSourcing;

/// <summary>
/// 3 silos and a client in one process, Raft grain storage over gRPC. For each history length H, G grains per provider
/// are prefilled to H events, then C callers append single events (<c>RaiseEvent</c> + <c>ConfirmEvents</c>) to
/// random grains for S seconds: Orleans.Raft's log-consistency provider (appends only the new event) against Orleans'
/// LogStorage provider over the same Raft grain storage (rewrites the whole event list), same run, alternating.
/// </summary>
internal static class EventSourcingBenchmark
{
    public const string GrainStorage = "raft";
    public const string RaftProvider = "raft-es";
    public const string LogStorageProvider = "logstorage";

    private const int MaxLogStorageState = (4 * 1024 * 1024) - (128 * 1024);

    public static async Task<int> RunAsync(EventSourcingBenchmarkSettings settings)
    {
        Console.WriteLine($"load average before: {MachineReadings.LoadAverage()}");
        var started = Stopwatch.StartNew();
        await using var cluster = await OrleansTestCluster.StartAsync(new OrleansTestClusterOptions
        {
            ConfigureSilo = (silo, builder) =>
            {
                builder.AddRaftGrainStorage(GrainStorage, (RaftGrainStorageOptions o) =>
                {
                    o.DataDirectory = silo.DataDirectory;
                    // LogStorage writes the whole history as one state: give it the largest state the durable log takes
                    // in one entry (4 MiB FASTER pages, less room for the command's header).
                    o.MaxStateSize = MaxLogStorageState;
                    foreach (var (name, address) in silo.RaftMembers)
                    {
                        o.Members[name] = address;
                    }
                });
                builder.AddRaftLogConsistencyProvider(RaftProvider, o =>
                {
                    o.GrainStorageName = GrainStorage;
                    o.SnapshotInterval = settings.SnapshotInterval;
                });
                builder.AddLogStorageBasedLogConsistencyProvider(LogStorageProvider);
            },
        });
        Console.WriteLine($"3 silos started in {started.Elapsed.TotalSeconds:F1} s; data in {cluster.DataDirectory}");

        var rows = new List<string>();
        var failed = false;
        foreach (var history in settings.Histories)
        {
            var providers = new[] { RaftProvider, LogStorageProvider };
            var grainsOf = providers.ToDictionary(p => p, p => p == LogStorageProvider && history >= 10_000 ? Math.Min(settings.Grains, 2) : settings.Grains);
            var rounds = providers.ToDictionary(p => p, _ => new List<(double EventsPerSecond, double P50, double P99, long Errors)>());
            var notes = providers.ToDictionary(p => p, p => $"{grainsOf[p]} grains");
            foreach (var provider in providers)
            {
                if (provider == LogStorageProvider && history > settings.LogStorageMaxHistory)
                {
                    // Measured once: at 100,000 events its prefill calls time out (each write serializes and replicates
                    // the whole list, ~4 MiB), and the grain goes on writing in the background, which would load the
                    // machine while the other provider is measured.
                    notes[provider] = $"cannot: not run above --logstorage-max {settings.LogStorageMaxHistory:N0} (its writes of the whole list time out)";
                    continue;
                }

                var prefill = Stopwatch.StartNew();
                var prefillError = await PrefillAsync(cluster.Client, provider, history, grainsOf[provider]);
                if (prefillError is not null)
                {
                    Console.WriteLine($"H={history} {provider}: prefill failed after {prefill.Elapsed.TotalSeconds:F1} s: {prefillError}");
                    notes[provider] = $"cannot hold the history: {prefillError}";
                    continue;
                }

                Console.WriteLine($"H={history} {provider}: {grainsOf[provider]} grains prefilled to {history} events in {prefill.Elapsed.TotalSeconds:F1} s");
            }

            for (var round = 0; round < settings.Rounds; round++)
            {
                // Alternate which provider goes first, so both see the same (shared, noisy) machine.
                foreach (var provider in round % 2 == 0 ? providers : providers.Reverse())
                {
                    if (notes[provider].StartsWith("cannot", StringComparison.Ordinal))
                    {
                        continue;
                    }

                    var result = await MeasureAsync(cluster.Client, provider, history, grainsOf[provider], settings);
                    failed |= result.Events == 0;
                    rounds[provider].Add((result.Events / result.Seconds, result.P50, result.P99, result.Errors));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"H={history} round {round + 1} {provider}: {result.Events / result.Seconds:F0} events/s, p50 {result.P50 / 1000:F1} ms, p99 {result.P99 / 1000:F1} ms, {result.Errors} errors"));
                }
            }

            var results = providers.ToDictionary(p => p, p => Median(rounds[p], notes[p]));
            var raft = results[RaftProvider];
            var log = results[LogStorageProvider];
            var ratio = log.EventsPerSecond > 0 ? string.Create(CultureInfo.InvariantCulture, $"{raft.EventsPerSecond / log.EventsPerSecond:F1}x") : "n/a";
            rows.Add(string.Create(CultureInfo.InvariantCulture,
                $"| {history:N0} | {raft.EventsPerSecond:F0} | {raft.P50 / 1000:F1} | {log.EventsPerSecond:F0} | {log.P50 / 1000:F1} | {ratio} | {log.Note} |"));
        }

        Console.WriteLine();
        Console.WriteLine($"load average after: {MachineReadings.LoadAverage()}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"C={settings.Concurrency} callers, {settings.Grains} grains per provider and history, median of {settings.Rounds} alternating rounds of {settings.Seconds} s, snapshot every {settings.SnapshotInterval} events"));
        Console.WriteLine("| history (events per grain) | Raft journal events/s | p50 ms | LogStorage events/s | p50 ms | Raft / LogStorage | LogStorage grains |");
        Console.WriteLine("|---:|---:|---:|---:|---:|---:|---|");
        rows.ForEach(Console.WriteLine);
        return failed ? 1 : 0;
    }

    private static IEventSourcedBenchGrain Grain(IClusterClient client, string provider, long history, int index) => provider == RaftProvider
        ? client.GetGrain<IRaftJournalBenchGrain>($"h{history}-{index}")
        : client.GetGrain<ILogStorageBenchGrain>($"h{history}-{index}");

    // Fills each grain to `history` events in batches; LogStorage rewrites the whole list per batch, so its batches are
    // as large as one command allows.
    private static async Task<string?> PrefillAsync(IClusterClient client, string provider, long history, int grains)
    {
        const int batch = 5_000;
        try
        {
            await Task.WhenAll(Enumerable.Range(0, grains).Select(async i =>
            {
                var grain = Grain(client, provider, history, i);
                long done = 0;
                while (done < history)
                {
                    var count = (int)Math.Min(batch, history - done);
                    done = await grain.DepositMany(count);
                }
            }));
            return null;
        }
        catch (Exception ex)
        {
            var message = ex.Message.Split('\n')[0];
            return $"{ex.GetType().Name}: {(message.Length > 90 ? message[..90] + "..." : message)}";
        }
    }

    private static async Task<(long Events, double Seconds, double P50, double P99, long Errors)> MeasureAsync(
        IClusterClient client, string provider, long history, int grains, EventSourcingBenchmarkSettings settings)
    {
        var histogram = new LatencyHistogram();
        var measuring = 0;
        var stop = 0;
        long events = 0;
        long errors = 0;

        async Task CallerAsync(int caller)
        {
            var random = new Random(caller);
            while (Volatile.Read(ref stop) == 0)
            {
                var grain = Grain(client, provider, history, random.Next(grains));
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await grain.Deposit(1);
                    if (Volatile.Read(ref measuring) == 1)
                    {
                        histogram.Record((long)Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                        Interlocked.Increment(ref events);
                    }
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }

        var callers = Enumerable.Range(0, settings.Concurrency).Select(c => Task.Run(() => CallerAsync(c))).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(settings.WarmupSeconds));
        var window = Stopwatch.StartNew();
        Volatile.Write(ref measuring, 1);
        await Task.Delay(TimeSpan.FromSeconds(settings.Seconds));
        Volatile.Write(ref measuring, 0);
        var seconds = window.Elapsed.TotalSeconds;
        Volatile.Write(ref stop, 1);
        await Task.WhenAll(callers);
        return (events, seconds, histogram.Percentile(50), histogram.Percentile(99), errors);
    }

    private static (double EventsPerSecond, double P50, double P99, long Errors, string Note) Median(
        List<(double EventsPerSecond, double P50, double P99, long Errors)> rounds, string note)
    {
        if (rounds.Count == 0)
        {
            return (0, 0, 0, 0, note);
        }

        var median = rounds.OrderBy(r => r.EventsPerSecond).ElementAt((rounds.Count - 1) / 2);
        return (median.EventsPerSecond, median.P50, median.P99, median.Errors, note);
    }

}
