using System.Diagnostics.Metrics;

namespace Raft.Storage.Faster;

// The project's Meter; OpenTelemetry picks it up by name ("Raft.Storage.Faster").
internal static class StorageMetrics
{
    public const string MeterName = "Raft.Storage.Faster";

    private static readonly Meter Meter = new(MeterName);

    public static readonly Histogram<double> AppendDuration = Meter.CreateHistogram<double>(
        "raft.storage.append.duration", "ms", "Time from the start of a durable append to its completion (enqueue, write, fdatasync).");

    public static readonly Counter<long> AppendedEntries = Meter.CreateCounter<long>(
        "raft.storage.append.entries", "{entry}", "Entries made durable by the log store.");
}
