using System.Diagnostics.Metrics;

namespace Raft.Core.Runtime;

/// <summary>The instruments of the "Raft.Core" meter; every measurement carries the node id as tag <c>raft.node</c>.</summary>
internal static class RaftMetrics
{
    public const string MeterName = "Raft.Core";

    public const string NodeTag = "raft.node";

    public static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> Proposals = Meter.CreateCounter<long>(
        "raft.proposals", "{proposal}", "Proposals accepted by the engine of a leader (appended to its log).");

    public static readonly Counter<long> ProposalsRejected = Meter.CreateCounter<long>(
        "raft.proposals.rejected", "{proposal}", "Proposals refused because the node was not the leader or the leader dropped them.");

    public static readonly Histogram<double> CommitLatency = Meter.CreateHistogram<double>(
        "raft.commit.latency", "ms", "Time from a proposal entering the node to its result from the state machine.");

    public static readonly Histogram<int> ReadyEntries = Meter.CreateHistogram<int>(
        "raft.ready.entries", "{entry}", "Entries appended to the log store per ready (the write batch size).");

    public static readonly Counter<long> AppliedEntries = Meter.CreateCounter<long>(
        "raft.entries.applied", "{entry}", "Committed entries applied on this node.");

    public static readonly Counter<long> Reads = Meter.CreateCounter<long>(
        "raft.reads", "{read}", "Linearizable reads sent to the engine for a read index.");

    public static readonly Counter<long> SnapshotsWritten = Meter.CreateCounter<long>(
        "raft.snapshots.written", "{snapshot}", "Snapshots of the state machine this node wrote.");

    public static readonly Counter<long> SnapshotsInstalled = Meter.CreateCounter<long>(
        "raft.snapshots.installed", "{snapshot}", "Snapshots from the leader this node restored its state machine from.");
}
