using System.Diagnostics;
using System.Globalization;
using DotNext.Net.Cluster.Consensus.Raft;
using KeyValueStore.Store;

namespace Benchmarks.DotNext;

/// <summary>
/// C concurrent writers inside the leader's process, each awaiting one <see cref="RaftClusterExtensions.ReplicateAsync(IRaftCluster, ReadOnlyMemory{byte}, object?, CancellationToken)"/>
/// at a time: the entry appended to the leader's log, replicated to a majority, committed and applied on the leader.
/// </summary>
/// <remarks>
/// DotNext has no client protocol, so the load runs where the log is: no client hop, no client process. That favours
/// DotNext against the grpc benchmark, whose client is another process one loopback round trip away. Only commands
/// that complete while <see cref="Measuring"/> is set are counted and timed.
/// </remarks>
internal sealed class LoadGenerator
{
    // longs between two workers' counters: 128 bytes, two cache lines (as in the grpc benchmark).
    private const int CounterStride = 16;

    private readonly IRaftCluster _cluster;
    private readonly byte[][][] _commands;
    private readonly long[] _committedBy;
    private readonly CancellationTokenSource _stop = new();
    private readonly LatencyHistogram _histogram = new();
    private Task[] _workers = [];
    private long _failed;
    private int _measuring;
    private long _measureStarted;
    private TimeSpan _measured;

    public LoadGenerator(IRaftCluster cluster, int concurrency, int payload)
    {
        _cluster = cluster;
        _commands = BenchmarkPuts.ByWriter(concurrency, payload);
        _committedBy = new long[concurrency * CounterStride];
    }

    public bool Measuring => Volatile.Read(ref _measuring) == 1;

    public void Start() => _workers = Enumerable.Range(0, _commands.Length).Select(w => Task.Run(() => WorkAsync(w))).ToArray();

    public void BeginMeasuring()
    {
        _measureStarted = Stopwatch.GetTimestamp();
        Volatile.Write(ref _measuring, 1);
    }

    /// <summary>Stops counting (the writers go on until <see cref="StopAsync"/>) and describes the measured window.</summary>
    public string EndMeasuring()
    {
        Volatile.Write(ref _measuring, 0);
        _measured = Stopwatch.GetElapsedTime(_measureStarted);
        var committed = Enumerable.Range(0, _commands.Length).Sum(w => Volatile.Read(ref _committedBy[w * CounterStride]));
        return string.Create(
            CultureInfo.InvariantCulture,
            $"RESULT committed={committed} seconds={_measured.TotalSeconds:F6} p50={_histogram.Percentile(50)} p99={_histogram.Percentile(99)} failed={Interlocked.Read(ref _failed)}");
    }

    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(_workers).ConfigureAwait(false);
    }

    private async Task WorkAsync(int worker)
    {
        var mine = _commands[worker];
        var next = 0;
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                await _cluster.ReplicateAsync(mine[next++ % mine.Length], token: token).ConfigureAwait(false);
                if (Measuring)
                {
                    _histogram.Record((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
                    Volatile.Write(ref _committedBy[worker * CounterStride], _committedBy[worker * CounterStride] + 1);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
            {
                // Not (or no longer) the leader: DotNext throws NotLeaderException, an InvalidOperationException. Counted,
                // and a pause so a deposed leader's writers do not spin.
                Interlocked.Increment(ref _failed);
                await Task.Delay(10, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }
}
