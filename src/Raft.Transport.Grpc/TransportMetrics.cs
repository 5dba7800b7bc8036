using System.Diagnostics.Metrics;

namespace Raft.Transport.Grpc;

/// <summary>The instruments of the "Raft.Transport.Grpc" meter; measurements carry the node id (<c>raft.node</c>) and peer (<c>raft.peer</c>).</summary>
internal static class TransportMetrics
{
    public const string MeterName = "Raft.Transport.Grpc";

    public const string NodeTag = "raft.node";

    public const string PeerTag = "raft.peer";

    public static readonly Meter Meter = new(MeterName);

    public static readonly Counter<long> MessagesSent = Meter.CreateCounter<long>(
        "raft.transport.messages.sent", "{message}", "Raft messages written to a peer stream.");

    public static readonly Counter<long> BatchesSent = Meter.CreateCounter<long>(
        "raft.transport.batches.sent", "{batch}", "Batches written to a peer stream (messages per batch = messages.sent / batches.sent).");

    public static readonly Counter<long> MessagesReceived = Meter.CreateCounter<long>(
        "raft.transport.messages.received", "{message}", "Raft messages received from peers and handed to the node.");

    public static readonly Counter<long> MessagesDropped = Meter.CreateCounter<long>(
        "raft.transport.messages.dropped", "{message}", "Raft messages dropped: peer unknown or unreachable, queue full, or too large.");

    public static readonly Counter<long> Reconnects = Meter.CreateCounter<long>(
        "raft.transport.reconnects", "{connection}", "Peer streams opened after a failure.");

    public static readonly Counter<long> CallsRejected = Meter.CreateCounter<long>(
        "raft.transport.calls.rejected", "{call}", "Incoming calls refused: wrong cluster, unknown sender, malformed or oversized input.");
}
