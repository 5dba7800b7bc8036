using System.Globalization;

namespace Benchmarks.Grpc;

/// <summary>One configuration of the gRPC benchmark, with the baselines measured beside it.</summary>
internal sealed record GrpcResult(
    int Concurrency,
    int Payload,
    long Committed,
    double OpsPerSecond,
    double P50Microseconds,
    double P99Microseconds,
    double CpuMicrosecondsPerOp,
    double CoresBusy,
    string CpuSplit,
    double FdatasyncP50Microseconds,
    double RoundTripP50Microseconds,
    string BaselineDetail,
    long Failed,
    string LoadBefore,
    string LoadAfter)
{
    public const string MarkdownHeader = """
        | C | P (bytes) | committed ops/s | p50 | p99 | CPU/op (3 nodes + client) | fdatasync p50 | gRPC RTT p50 | p50 / (fdatasync + RTT) | load avg before → after |
        |---:|---:|---:|---:|---:|---:|---:|---:|---:|---|
        """;

    // The latency target at C = 1: p50 within 1.5x of one fdatasync plus one round trip.
    public double LatencyRatio => P50Microseconds / (FdatasyncP50Microseconds + RoundTripP50Microseconds);

    public string ToMarkdownRow() => string.Create(
        CultureInfo.InvariantCulture,
        $"| {Concurrency} | {Payload} | {OpsPerSecond:N0} | {Ms(P50Microseconds)} | {Ms(P99Microseconds)} | {CpuMicrosecondsPerOp:F1} µs | {Ms(FdatasyncP50Microseconds)} | {Ms(RoundTripP50Microseconds)} | {LatencyRatio:F2}x | {LoadBefore} → {LoadAfter} |");

    public string Describe() => string.Create(
        CultureInfo.InvariantCulture,
        $"""
        grpc: 3 node processes, concurrency {Concurrency}, payload {Payload} B
          committed        {Committed:N0} ops, {OpsPerSecond:N0} ops/s ({Failed} failed calls)
          commit latency   p50 {Ms(P50Microseconds)}, p99 {Ms(P99Microseconds)}
          CPU time per op  {CpuMicrosecondsPerOp:F1} µs (3 nodes + client; {CoresBusy:F2} of {Environment.ProcessorCount} cores busy): {CpuSplit}
          baselines        fdatasync p50 {Ms(FdatasyncP50Microseconds)}, gRPC round trip p50 {Ms(RoundTripP50Microseconds)}; p50 / (fdatasync + RTT) = {LatencyRatio:F2}x
                           {BaselineDetail}
          load average     {LoadBefore} before, {LoadAfter} after
        """);

    private static string Ms(double microseconds) => string.Create(CultureInfo.InvariantCulture, $"{microseconds / 1000:F3} ms");
}
