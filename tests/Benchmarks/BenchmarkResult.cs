using System.Globalization;

namespace Benchmarks;

/// <summary>What one benchmark run measured.</summary>
internal sealed record BenchmarkResult(
    BenchmarkSettings Settings,
    long Committed,
    double OpsPerSecond,
    double P50Microseconds,
    double P99Microseconds,
    double CpuMicrosecondsPerOp,
    double AllocatedBytesPerOp,
    int Gen0Collections,
    int Gen2Collections,
    long Errors,
    bool LeaderChanged,
    string AppliedIndexes)
{
    public const string MarkdownHeader = """
        | C | P (bytes) | committed ops/s | p50 latency | p99 latency | CPU time/op | allocated/op | gen0/gen2 GCs |
        |---:|---:|---:|---:|---:|---:|---:|---:|
        """;

    public string ToMarkdownRow() => string.Create(
        CultureInfo.InvariantCulture,
        $"| {Settings.Concurrency} | {Settings.Payload} | {OpsPerSecond:N0} | {Ms(P50Microseconds)} | {Ms(P99Microseconds)} | {CpuMicrosecondsPerOp:F2} µs | {AllocatedBytesPerOp:N0} B | {Gen0Collections}/{Gen2Collections} |");

    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"""
        {Settings.Mode}: {Settings.Nodes} nodes, concurrency {Settings.Concurrency}, payload {Settings.Payload} B, {Settings.Seconds} s after {Settings.WarmupSeconds} s warm-up
          committed        {Committed:N0} ops, {OpsPerSecond:N0} ops/s
          commit latency   p50 {Ms(P50Microseconds)}, p99 {Ms(P99Microseconds)}
          CPU time per op  {CpuMicrosecondsPerOp:F2} µs (all nodes, {Environment.ProcessorCount} cores)
          allocated per op {AllocatedBytesPerOp:N0} B; GCs gen0 {Gen0Collections}, gen2 {Gen2Collections}
          retried errors   {Errors}{(LeaderChanged ? " (leader changed during the run)" : "")}
          applied index    {AppliedIndexes}
        """);

    private static string Ms(double microseconds) => string.Create(CultureInfo.InvariantCulture, $"{microseconds / 1000:F3} ms");
}
