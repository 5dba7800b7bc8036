using System.Diagnostics;
using System.Globalization;
using KeyValueStore.Store;
using Raft.Transport.Grpc.Client;

namespace KeyValueStore.Commands;

/// <summary><c>load</c>: many concurrent puts for a while, then the throughput and latency percentiles.</summary>
public static class LoadCommand
{
    /// <summary>Runs the load.</summary>
    /// <param name="args">--concurrency (64), --seconds (10), --value-size (64), --keys (10000).</param>
    /// <returns>The exit code: 0, or 3 when any put failed.</returns>
    public static async Task<int> RunAsync(Arguments args)
    {
        var concurrency = args.GetInt("concurrency", 64);
        var seconds = args.GetInt("seconds", 10);
        var valueSize = args.GetInt("value-size", 64);
        var keys = args.GetInt("keys", 10_000);
        await using var client = ClientCommands.CreateClient(args);
        var value = new string('v', valueSize);

        // Warm up the connection and find the leader before the clock starts.
        await client.ProposeAsync(new KvCommand(KvOperation.Put, "warmup", value).Encode());

        var latencies = new List<double>[concurrency];
        var failures = 0L;
        var stopwatch = Stopwatch.StartNew();
        var end = TimeSpan.FromSeconds(seconds);
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async worker =>
        {
            var mine = latencies[worker] = new List<double>(4096);
            var random = new Random(worker);
            while (stopwatch.Elapsed < end)
            {
                var command = new KvCommand(KvOperation.Put, "key-" + random.Next(keys).ToString(CultureInfo.InvariantCulture), value).Encode();
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await client.ProposeAsync(command);
                    mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
                catch (RaftClientException)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        }));

        var elapsed = stopwatch.Elapsed.TotalSeconds;
        var all = latencies.SelectMany(l => l).Order().ToArray();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{all.Length} puts of {valueSize} B in {elapsed:F1} s at concurrency {concurrency}: {all.Length / elapsed:F0} ops/s, " +
            $"p50 {Percentile(all, 0.50):F2} ms, p99 {Percentile(all, 0.99):F2} ms, max {(all.Length > 0 ? all[^1] : 0):F2} ms, {failures} failed"));
        return failures == 0 ? 0 : 3;
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : sorted[Math.Min(sorted.Length - 1, (int)(p * sorted.Length))];
}
