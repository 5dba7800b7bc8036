using System.Diagnostics.Metrics;
using Orleans.Raft.Storage;

namespace Orleans.Raft.Journaling;

/// <summary>Journaling instruments on the "Orleans.Raft" meter (the per-operation counts are in <c>orleans.raft.storage.operations</c>).</summary>
internal static class RaftJournalingMetrics
{
    public static readonly Counter<long> Compactions = RaftStorageMetrics.Meter.CreateCounter<long>(
        "orleans.raft.journaling.compactions", "{compaction}", "Journals replaced by a snapshot of their grain's state (compaction).");

    public static readonly Histogram<long> AppendBytes = RaftStorageMetrics.Meter.CreateHistogram<long>(
        "orleans.raft.journaling.append.size", "By", "Bytes of one journal append (one write of a grain's state manager).");
}
