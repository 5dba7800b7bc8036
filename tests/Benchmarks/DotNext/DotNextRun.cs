using System.Diagnostics;
using System.Globalization;

namespace Benchmarks.DotNext;

/// <summary>
/// One measured run of the DotNext baseline: a fresh three-node cluster, C writers in the leader's process for a
/// warm-up and a measured window, the nodes' CPU time over that window, and whether the leader held.
/// </summary>
/// <remarks>
/// Shaped like <see cref="Grpc.GrpcMode"/>'s run so the two rows compare (and <c>grpc --baseline dotnext</c> runs both
/// in one process, one after the other, on the same host): the same pre-encoded 64-entry put cycles per writer, the same
/// histogram, counts only inside the window. Where it differs: the writers live in the leader's process (DotNext has no
/// client protocol), so there is no client round trip and no client process; its CPU time is in the leader's.
/// </remarks>
internal static class DotNextRun
{
    public static async Task<DotNextResult> RunOneAsync(int concurrency, int payload, int seconds, int warmup, string wal = "shared", string nodeLogLevel = "Warning")
    {
        var root = Path.Combine(Path.GetTempPath(), $"raft-dotnext-bench-{Guid.NewGuid():N}");
        var loadBefore = MachineReadings.LoadAverage();
        await using var cluster = await DotNextCluster.StartAsync(root, 3, wal, nodeLogLevel);
        var (leader, term) = await cluster.FindLeaderAsync();
        var leaderNode = cluster.Nodes[leader];
        await leaderNode.AskAsync(string.Create(CultureInfo.InvariantCulture, $"load {concurrency} {payload}"), "LOADING");

        await Task.Delay(TimeSpan.FromSeconds(warmup));
        var nodesBefore = cluster.NodesCpuTime();
        var clock = Stopwatch.StartNew();
        await leaderNode.AskAsync("measure", "MEASURING");
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        var answer = await leaderNode.AskAsync("result", "RESULT ");
        var elapsed = clock.Elapsed;
        var nodesAfter = cluster.NodesCpuTime();

        // RESULT committed=… seconds=… p50=… p99=… failed=…  (the window as the leader timed it)
        var fields = answer.Split(' ').Skip(1).Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1], StringComparer.Ordinal);
        var count = long.Parse(fields["committed"], CultureInfo.InvariantCulture);
        var window = double.Parse(fields["seconds"], CultureInfo.InvariantCulture);

        var (leaderAfter, termAfter) = await cluster.FindLeaderAsync();
        var leaderChange = leaderAfter == leader && termAfter == term ? "" : $" (LEADER CHANGED: term {term} → {termAfter})";
        if (leaderChange.Length > 0)
        {
            Console.WriteLine($"  DotNext leader changed from {cluster.Endpoints[leader]} (term {term}) to {cluster.Endpoints[leaderAfter]} (term {termAfter}); the nodes' last lines:");
            Console.WriteLine(cluster.OutputLines(100));
        }

        var nodesCpu = nodesAfter.Select((t, i) => t - nodesBefore[i]).ToArray();
        var cpu = nodesCpu.Aggregate(TimeSpan.Zero, (a, b) => a + b);
        double PerOp(TimeSpan t) => count == 0 ? double.NaN : t.TotalMicroseconds / count;
        var split = string.Create(
            CultureInfo.InvariantCulture,
            $"leader (with the load) {PerOp(nodesCpu[leader]):F1} µs, followers {string.Join(" + ", nodesCpu.Where((_, i) => i != leader).Select(t => PerOp(t).ToString("F1", CultureInfo.InvariantCulture)))} µs");
        return new DotNextResult(
            concurrency, payload, wal, count, count / window,
            double.Parse(fields["p50"], CultureInfo.InvariantCulture), double.Parse(fields["p99"], CultureInfo.InvariantCulture),
            PerOp(cpu), cpu.TotalSeconds / elapsed.TotalSeconds, split, leaderChange,
            long.Parse(fields["failed"], CultureInfo.InvariantCulture), loadBefore, MachineReadings.LoadAverage());
    }
}
