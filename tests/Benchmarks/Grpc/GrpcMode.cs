using System.Diagnostics;
using System.Globalization;
using Benchmarks.DotNext;
using KeyValueStore.Store;
using Raft.Core.Engine;
using Raft.Transport.Grpc.Client;

namespace Benchmarks.Grpc;

/// <summary>
/// Issue 4's benchmark: three <c>KeyValueStore serve</c> processes on loopback (gRPC transport, FASTER durable log),
/// driven by C concurrent proposers through one <see cref="GrpcRaftClient"/>; beside each run, in the same run, one
/// fdatasync and one loopback gRPC round trip, the two fixed costs of a commit.
/// </summary>
internal sealed class GrpcMode : IBenchmarkMode
{
    // longs between two workers' counters: 128 bytes, two cache lines.
    private const int CounterStride = 16;

    private const string Usage = """
        usage: dotnet run -c Release --project tests/Benchmarks -- grpc [options]
          (no options)       the matrix: 64 B at concurrency 1, 16, 256, and 1 KiB at concurrency 64
          --concurrency C    one configuration only: C concurrent proposers ...
          --payload P        ... of P-byte commands (default 64)
          --seconds S        measured seconds per configuration (default 10)
          --warmup W         warm-up seconds (default 5: the nodes' JIT is still busy in the first seconds)
          --tick MS          the nodes' tick interval (default 20, the sample's default)
          --node-log-level L the nodes' log level (default Warning); a run whose leader changed prints their last lines
          --baseline dotnext after each configuration, the dotnext mode's run at the same C and P, and our ops/s as a ratio to it
        """;

    public string Name => "grpc";

    public string Description => "3 KeyValueStore node processes over gRPC with FASTER storage, vs fdatasync and gRPC round trip (see --help)";

    public async Task<int> RunAsync(string[] args)
    {
        var configurations = new List<(int Concurrency, int Payload)> { (1, 64), (16, 64), (256, 64), (64, 1024) };
        int? concurrency = null;
        var payload = 64;
        var seconds = 10;
        var warmup = 5;
        var tick = 20;
        var nodeLogLevel = "Warning";
        var baseline = false;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--concurrency" or "-c": concurrency = ModeArguments.Int(args, ++i); break;
                    case "--payload" or "-p": payload = ModeArguments.Int(args, ++i); break;
                    case "--seconds" or "-s": seconds = ModeArguments.Int(args, ++i); break;
                    case "--warmup": warmup = ModeArguments.Int(args, ++i); break;
                    case "--tick": tick = ModeArguments.Int(args, ++i); break;
                    case "--node-log-level": nodeLogLevel = i + 1 < args.Length ? args[++i] : throw new ArgumentException("--node-log-level needs a level."); break;
                    case "--baseline" when i + 1 < args.Length && args[i + 1] == "dotnext": baseline = true; i++; break;
                    case "--help" or "-h":
                        Console.WriteLine(Usage);
                        return 0;
                    default: throw new ArgumentException($"Unknown argument '{args[i]}'.");
                }
            }

            if (concurrency is { } c)
            {
                configurations = [(c, payload)];
            }

            if (configurations.Any(x => x.Concurrency < 1 || x.Payload < 16) || seconds < 1 || warmup < 0 || tick < 1)
            {
                throw new ArgumentException("Out-of-range argument: concurrency ≥ 1, payload ≥ 16, seconds ≥ 1, warmup ≥ 0, tick ≥ 1.");
            }
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        Console.WriteLine($"sample: {NodeCluster.SampleDll}");
        var rows = new List<string>();
        var comparisons = new List<string>();
        foreach (var (c, p) in configurations)
        {
            var row = await RunOneAsync(c, p, seconds, warmup, tick, nodeLogLevel);
            Console.WriteLine(row.Describe());
            rows.Add(row.ToMarkdownRow());
            if (baseline)
            {
                // Right after ours, on the same host, with the same warm-up and window: see DotNextRun for what differs.
                var comparison = new BaselineComparison(row, await DotNextRun.RunOneAsync(c, p, seconds, warmup));
                Console.WriteLine(comparison.DotNext.Describe());
                Console.WriteLine(comparison.Describe());
                comparisons.Add(comparison.ToMarkdownRow());
            }
        }

        Console.WriteLine();
        Console.WriteLine(GrpcResult.MarkdownHeader);
        rows.ForEach(Console.WriteLine);
        if (comparisons.Count > 0)
        {
            Console.WriteLine();
            Console.WriteLine(BaselineComparison.MarkdownHeader);
            comparisons.ForEach(Console.WriteLine);
        }

        return 0;
    }

    private static async Task<GrpcResult> RunOneAsync(int concurrency, int payload, int seconds, int warmup, int tick, string nodeLogLevel)
    {
        var root = Path.Combine(Path.GetTempPath(), $"raft-grpc-bench-{Guid.NewGuid():N}");
        var loadBefore = MachineReadings.LoadAverage();
        await using var cluster = await NodeCluster.StartAsync(root, 3, tick, nodeLogLevel);
        await using var client = new GrpcRaftClient(new GrpcRaftClientOptions { ClusterId = cluster.ClusterId, Endpoints = cluster.Endpoints });
        var (leader, term) = await FindLeaderAsync(client, cluster);

        // The fixed costs, measured on this disk and this loopback under whatever else the machine is doing, before
        // and after the run (the mean of the two medians is the baseline).
        await using var direct = new GrpcRaftClient(new GrpcRaftClientOptions { ClusterId = cluster.ClusterId, Endpoints = [leader] });
        var fdatasyncBefore = Baselines.FdatasyncP50(Path.Combine(root, "baseline"));
        var roundTripBefore = await Baselines.GrpcRoundTripP50(direct);

        var commands = BenchmarkPuts.ByWriter(concurrency, payload);
        var histogram = new LatencyHistogram();

        // Per-worker counts, a cache line apart: a shared counter would be the hottest line of the client process.
        var committedBy = new long[concurrency * CounterStride];
        var failed = 0L;
        var measuring = 0;
        var stop = 0;
        var workers = Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var mine = commands[worker];
            var next = 0;
            while (Volatile.Read(ref stop) == 0)
            {
                var started = Stopwatch.GetTimestamp();
                try
                {
                    await client.ProposeAsync(mine[next++ % mine.Length]).ConfigureAwait(false);
                    if (Volatile.Read(ref measuring) == 1)
                    {
                        histogram.Record((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                        Volatile.Write(ref committedBy[worker * CounterStride], committedBy[worker * CounterStride] + 1);
                    }
                }
                catch (RaftClientException)
                {
                    Interlocked.Increment(ref failed);
                }
            }
        })).ToArray();

        await Task.Delay(TimeSpan.FromSeconds(warmup));
        var self = Process.GetCurrentProcess();
        var nodesBefore = cluster.NodesCpuTime();
        var clientBefore = self.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        Volatile.Write(ref measuring, 1);
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        Volatile.Write(ref measuring, 0);
        var elapsed = clock.Elapsed;
        self.Refresh();
        var nodesAfter = cluster.NodesCpuTime();
        var clientCpu = self.TotalProcessorTime - clientBefore;
        var count = Enumerable.Range(0, concurrency).Sum(w => Volatile.Read(ref committedBy[w * CounterStride]));

        // A run whose leader changed measured an election too, and its per-node CPU split names the wrong leader. Asked
        // before the probes below: their burst of fdatasyncs on the nodes' disk is no part of the run (a stall of all
        // three nodes' writes for about an election timeout, which costs a leader its leadership: docs/benchmarks.md).
        var (leaderAfter, termAfter) = await FindLeaderAsync(client, cluster);
        var leaderChange = leaderAfter == leader && termAfter == term ? "" : $" (LEADER CHANGED: term {term} → {termAfter})";
        if (leaderChange.Length > 0)
        {
            // What the nodes said (at --node-log-level) is the first clue to why.
            Console.WriteLine($"  leader changed from {leader} (term {term}) to {leaderAfter} (term {termAfter}); the nodes' last lines:");
            Console.WriteLine(cluster.OutputLines(400));
        }

        Volatile.Write(ref stop, 1);
        await Task.WhenAll(workers);
        var fdatasyncAfter = Baselines.FdatasyncP50(Path.Combine(root, "baseline"));
        var roundTripAfter = await Baselines.GrpcRoundTripP50(direct);

        var leaderIndex = cluster.Endpoints.FindIndex(e => leader.Contains(e, StringComparison.Ordinal));
        var nodesCpu = nodesAfter.Select((t, i) => t - nodesBefore[i]).ToArray();
        var cpu = nodesCpu.Aggregate(clientCpu, (a, b) => a + b);
        double PerOp(TimeSpan t) => count == 0 ? double.NaN : t.TotalMicroseconds / count;
        var split = string.Create(
            CultureInfo.InvariantCulture,
            $"leader {PerOp(leaderIndex >= 0 ? nodesCpu[leaderIndex] : TimeSpan.Zero):F1} µs, followers {string.Join(" + ", nodesCpu.Where((_, i) => i != leaderIndex).Select(t => PerOp(t).ToString("F1", CultureInfo.InvariantCulture)))} µs, client {PerOp(clientCpu):F1} µs{leaderChange}");
        return new GrpcResult(
            concurrency, payload, count, count / elapsed.TotalSeconds, histogram.Percentile(50), histogram.Percentile(99),
            PerOp(cpu), cpu.TotalSeconds / elapsed.TotalSeconds, split,
            (fdatasyncBefore + fdatasyncAfter) / 2, (roundTripBefore + roundTripAfter) / 2,
            string.Create(CultureInfo.InvariantCulture, $"fdatasync p50 {fdatasyncBefore / 1000:F3} / {fdatasyncAfter / 1000:F3} ms, RTT p50 {roundTripBefore / 1000:F3} / {roundTripAfter / 1000:F3} ms (before / after)"),
            Interlocked.Read(ref failed), loadBefore, MachineReadings.LoadAverage());
    }

    private static async Task<(string Address, long Term)> FindLeaderAsync(GrpcRaftClient client, NodeCluster cluster)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            try
            {
                var statuses = await client.GetStatusAsync(includePeers: true);
                if (statuses.FirstOrDefault(s => s.Role == StateRole.Leader) is { Address: { } address } status)
                {
                    return (address, status.Term);
                }
            }
            catch (RaftClientException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("No leader within 30 s:\n" + cluster.Output);
    }
}
