using System.Globalization;
using Benchmarks.Grpc;

namespace Benchmarks.DotNext;

/// <summary>
/// One grpc row beside the DotNext baseline run right after it at the same concurrency and payload
/// (<c>grpc --baseline dotnext</c>): issue 4's throughput target as a ratio measured on the same host in the same run.
/// </summary>
internal sealed record BaselineComparison(GrpcResult Ours, DotNextResult DotNext)
{
    public const string MarkdownHeader = """
        | C | P (bytes) | ours ops/s | DotNext ops/s | ours / DotNext | ours p50 / p99 | DotNext p50 / p99 | ours CPU/op | DotNext CPU/op | leader changed (ours / DotNext) |
        |---:|---:|---:|---:|---:|---|---|---:|---:|---|
        """;

    public double Ratio => Ours.OpsPerSecond / DotNext.OpsPerSecond;

    public string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"  ours / DotNext   {Ratio:F2}x committed ops/s ({Ours.OpsPerSecond:N0} / {DotNext.OpsPerSecond:N0}); CPU/op {Ours.CpuMicrosecondsPerOp:F1} / {DotNext.CpuMicrosecondsPerOp:F1} µs; p50 {Ms(Ours.P50Microseconds)} / {Ms(DotNext.P50Microseconds)}");

    public string ToMarkdownRow() => string.Create(
        CultureInfo.InvariantCulture,
        $"| {Ours.Concurrency} | {Ours.Payload} | {Ours.OpsPerSecond:N0} | {DotNext.OpsPerSecond:N0} | {Ratio:F2}x | {Ms(Ours.P50Microseconds)} / {Ms(Ours.P99Microseconds)} | {Ms(DotNext.P50Microseconds)} / {Ms(DotNext.P99Microseconds)} | {Ours.CpuMicrosecondsPerOp:F1} µs | {DotNext.CpuMicrosecondsPerOp:F1} µs | {(Ours.CpuSplit.Contains("LEADER CHANGED", StringComparison.Ordinal) ? "YES" : "no")} / {(DotNext.LeaderChange.Length == 0 ? "no" : "YES")} |");

    private static string Ms(double microseconds) => string.Create(CultureInfo.InvariantCulture, $"{microseconds / 1000:F3} ms");
}
