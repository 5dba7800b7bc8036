using System.Diagnostics.Metrics;

namespace Orleans.Raft.Storage;

/// <summary>The instruments of the "Orleans.Raft" meter; measurements carry the provider name as tag <c>orleans.raft.provider</c>.</summary>
internal static class RaftStorageMetrics
{
    public const string MeterName = "Orleans.Raft";

    public const string ProviderTag = "orleans.raft.provider";

    public const string OperationTag = "orleans.raft.operation";

    public const string OutcomeTag = "orleans.raft.outcome";

    public static readonly Meter Meter = new(MeterName);

    public static readonly Histogram<double> WriteLatency = Meter.CreateHistogram<double>(
        "orleans.raft.storage.write.latency", "ms", "Time of a successful grain-state write or clear, from the call to the committed answer.");

    public static readonly Histogram<double> ReadLatency = Meter.CreateHistogram<double>(
        "orleans.raft.storage.read.latency", "ms", "Time of a linearizable grain-state read.");

    public static readonly Counter<long> Operations = Meter.CreateCounter<long>(
        "orleans.raft.storage.operations", "{operation}",
        "Grain-state reads, writes and clears, tagged with the operation and its outcome (ok, conflict, unavailable, unknown, too_large, failed).");

    public static readonly Counter<long> Forwarded = Meter.CreateCounter<long>(
        "orleans.raft.storage.forwarded", "{command}", "Write and clear attempts this silo forwarded to the leader on another silo.");

    public static readonly Counter<long> Retries = Meter.CreateCounter<long>(
        "orleans.raft.storage.retries", "{attempt}", "Attempts repeated after a leader change, a refusal or a lost answer.");
}
