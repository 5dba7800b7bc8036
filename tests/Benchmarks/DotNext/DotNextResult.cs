using System.Globalization;

namespace Benchmarks.DotNext;

/// <summary>One run of the DotNext baseline cluster, in the grpc benchmark's units.</summary>
internal sealed record DotNextResult(
    int Concurrency,
    int Payload,
    string Wal,
    long Committed,
    double OpsPerSecond,
    double P50Microseconds,
    double P99Microseconds,
    double CpuMicrosecondsPerOp,
    double CoresBusy,
    string CpuSplit,
    string LeaderChange,
    long Failed,
    string LoadBefore,
    string LoadAfter)
{
    public const string MarkdownHeader = """
        | C | P (bytes) | committed ops/s | p50 | p99 | CPU/op (3 nodes, load in the leader) | cores busy | leader changed | load avg before → after |
        |---:|---:|---:|---:|---:|---:|---:|---|---|
        """;

    public string ToMarkdownRow() => string.Create(
        CultureInfo.InvariantCulture,
        $"| {Concurrency} | {Payload} | {OpsPerSecond:N0} | {Ms(P50Microseconds)} | {Ms(P99Microseconds)} | {CpuMicrosecondsPerOp:F1} µs | {CoresBusy:F2} | {(LeaderChange.Length == 0 ? "no" : "YES")} | {LoadBefore} → {LoadAfter} |");

    public string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"""
        dotnext: 3 DotNext.Net.Cluster 6.12 node processes (TCP, WriteAheadLog {Wal}), concurrency {Concurrency}, payload {Payload} B, load generated inside the leader (no client hop)
          committed        {Committed:N0} ops, {OpsPerSecond:N0} ops/s ({Failed} failed calls)
          commit latency   p50 {Ms(P50Microseconds)}, p99 {Ms(P99Microseconds)} (ReplicateAsync: append, replicate, commit, apply on the leader)
          CPU time per op  {CpuMicrosecondsPerOp:F1} µs (3 nodes, the load generator in the leader's; {CoresBusy:F2} of {Environment.ProcessorCount} cores busy): {CpuSplit}{LeaderChange}
          load average     {LoadBefore} before, {LoadAfter} after
        """);

    private static string Ms(double microseconds) => string.Create(CultureInfo.InvariantCulture, $"{microseconds / 1000:F3} ms");
}
