using System.Diagnostics;
using Raft.Core;
using Raft.Core.Runtime;
using Raft.Core.Storage;
using Raft.Core.Transport;

namespace Benchmarks;

/// <summary>
/// A cluster of real <see cref="RaftNode"/>s on the in-memory stores and transport, driven by C concurrent proposers
/// against the leader: measures the runtime and engine without disk or network.
/// </summary>
internal static class InMemoryClusterBenchmark
{
    public static async Task<BenchmarkResult> RunAsync(BenchmarkSettings settings)
    {
        var ids = Enumerable.Range(1, settings.Nodes).Select(i => $"n{i}").ToArray();
        var network = new InMemoryNetwork();
        var nodes = new List<RaftNode>();
        var transports = new List<InMemoryTransport>();
        foreach (var id in ids)
        {
            var transport = network.CreateTransport(id);
            transports.Add(transport);
            var options = new RaftNodeOptions
            {
                Raft = new RaftOptions { Id = id, Voters = ids },
                TickInterval = TimeSpan.FromMilliseconds(settings.TickMilliseconds),
            };
            nodes.Add(new RaftNode(options, new InMemoryLogStore(), new InMemoryHardStateStore(), transport, new CountingStateMachine()));
        }

        try
        {
            foreach (var node in nodes)
            {
                await node.StartAsync();
            }

            await nodes[0].WaitForLeaderAsync().WaitAsync(TimeSpan.FromSeconds(30));
            return await MeasureAsync(settings, nodes);
        }
        finally
        {
            foreach (var node in nodes)
            {
                await node.StopAsync();
            }

            foreach (var transport in transports)
            {
                await transport.DisposeAsync();
            }
        }
    }

    private static async Task<BenchmarkResult> MeasureAsync(BenchmarkSettings settings, List<RaftNode> nodes)
    {
        var histogram = new LatencyHistogram();
        var measuring = 0;
        var stop = 0;
        long committed = 0;
        long errors = 0;

        async Task ProposeLoopAsync()
        {
            // One buffer per proposer, reused: the engine shares it without copying, and nobody writes into it.
            var command = new byte[settings.Payload];
            Random.Shared.NextBytes(command);
            var leader = FindLeader(nodes) ?? nodes[0];
            while (Volatile.Read(ref stop) == 0)
            {
                var start = Stopwatch.GetTimestamp();
                try
                {
                    await leader.ProposeAsync(command);
                    if (Volatile.Read(ref measuring) == 1)
                    {
                        histogram.Record((long)Stopwatch.GetElapsedTime(start).TotalMicroseconds);
                        Interlocked.Increment(ref committed);
                    }
                }
                catch (RaftException ex) when (ex is not RaftNodeStoppedException)
                {
                    Interlocked.Increment(ref errors);
                    await Task.Delay(settings.TickMilliseconds);
                    leader = FindLeader(nodes) ?? leader;
                }
            }
        }

        var leader0 = FindLeader(nodes);
        var workers = Enumerable.Range(0, settings.Concurrency).Select(_ => Task.Run(ProposeLoopAsync)).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(settings.WarmupSeconds));

        using var sampler = settings.AllocationProfile ? new AllocationSampler() : null;
        sampler?.Begin();
        var process = Process.GetCurrentProcess();
        var cpuBefore = process.TotalProcessorTime;
        var allocatedBefore = GC.GetTotalAllocatedBytes();
        var gen0Before = GC.CollectionCount(0);
        var gen2Before = GC.CollectionCount(2);
        var clock = Stopwatch.StartNew();
        Volatile.Write(ref measuring, 1);
        await Task.Delay(TimeSpan.FromSeconds(settings.Seconds));
        Volatile.Write(ref measuring, 0);
        var elapsed = clock.Elapsed;
        process.Refresh();
        var cpu = process.TotalProcessorTime - cpuBefore;
        var allocated = GC.GetTotalAllocatedBytes() - allocatedBefore;
        var gen0 = GC.CollectionCount(0) - gen0Before;
        var gen2 = GC.CollectionCount(2) - gen2Before;
        var ops = Interlocked.Read(ref committed);
        sampler?.End();
        if (sampler is not null)
        {
            Console.WriteLine("  sampled allocations, bytes per committed op, by type:");
            foreach (var (type, bytes) in sampler.Top(25))
            {
                Console.WriteLine($"    {(double)bytes / Math.Max(1, ops),8:F1}  {type}");
            }
        }

        Volatile.Write(ref stop, 1);
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(30));

        var leaderChanged = FindLeader(nodes)?.Id != leader0?.Id;
        var applied = string.Join(", ", nodes.Select(n => $"{n.Id}={n.Status.AppliedIndex:N0}"));
        return new BenchmarkResult(
            settings,
            ops,
            ops / elapsed.TotalSeconds,
            histogram.Percentile(50),
            histogram.Percentile(99),
            ops == 0 ? double.NaN : cpu.TotalMicroseconds / ops,
            ops == 0 ? double.NaN : (double)allocated / ops,
            gen0,
            gen2,
            Interlocked.Read(ref errors),
            leaderChanged,
            applied);
    }

    private static RaftNode? FindLeader(List<RaftNode> nodes) => nodes.FirstOrDefault(n => n.IsLeader);
}
