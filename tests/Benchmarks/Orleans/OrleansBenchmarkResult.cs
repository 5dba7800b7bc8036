using System.Globalization;

namespace Benchmarks.Orleans;

/// <summary>One measured round of one provider.</summary>
internal sealed record OrleansBenchmarkResult(
    string Provider,
    OrleansBenchmarkSettings Settings,
    long Writes,
    double WritesPerSecond,
    double P50Microseconds,
    double P99Microseconds,
    double CpuMicrosecondsPerWrite,
    double WorkItemsPerWrite,
    double AllocatedBytesPerWrite,
    double CommitP50Microseconds,
    double AppendP50Microseconds,
    int Gen0Collections,
    int Gen2Collections,
    long Errors,
    string? FirstError,
    bool LeaderChanged)
{
    public const string MarkdownHeader = """
        | provider | grains | callers | writes/s | p50 | p99 | CPU time/write | errors |
        |---|---:|---:|---:|---:|---:|---:|---:|
        """;

    public string ToMarkdownRow() => string.Create(
        CultureInfo.InvariantCulture,
        $"| {Provider} | {Settings.Grains} | {Settings.Concurrency} | {WritesPerSecond:N0} | {Ms(P50Microseconds)} | {Ms(P99Microseconds)} | {CpuMicrosecondsPerWrite:F0} µs | {Errors} |");

    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"{Provider,-6} {WritesPerSecond,8:N0} writes/s  p50 {Ms(P50Microseconds)}  p99 {Ms(P99Microseconds)}  CPU {CpuMicrosecondsPerWrite:F0} µs/write ({CoresBusy:F2} of {Environment.ProcessorCount} cores)  thread-pool work items {WorkItemsPerWrite:F1}/write  allocated {AllocatedBytesPerWrite / 1024:F1} KiB/write{(double.IsNaN(CommitP50Microseconds) ? "" : $"  Raft commit p50 {Ms(CommitP50Microseconds)}, append p50 {Ms(AppendP50Microseconds)}")}  GCs gen0 {Gen0Collections} gen2 {Gen2Collections}  errors {Errors}{(FirstError is null ? "" : $" (first: {FirstError})")}{(LeaderChanged ? "  (Raft leader changed)" : "")}");

    // The process's CPU time over the round's wall time: near the core count, the provider is CPU-bound; well below
    // it, its writes wait on something else (with a fixed number of callers, their latency).
    public double CoresBusy => CpuMicrosecondsPerWrite * WritesPerSecond / 1_000_000;

    private static string Ms(double microseconds) => string.Create(CultureInfo.InvariantCulture, $"{microseconds / 1000:F2} ms");
}
