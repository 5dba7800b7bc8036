using Microsoft.Extensions.Logging;

namespace Raft.Transport.Grpc;

/// <summary>Every log message of Raft.Transport.Grpc, source-generated; EventIds 3000–3999.</summary>
internal static partial class Log
{
    // 3000–3099: the sending side.
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information,
        Message = "Raft gRPC transport of node {NodeId} in cluster {ClusterId} started with peers {Peers}")]
    public static partial void TransportStarted(ILogger logger, string nodeId, string clusterId, string peers);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Node {NodeId} connected to peer {PeerId} at {Address}")]
    public static partial void PeerConnected(ILogger logger, string nodeId, string peerId, Uri address);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning,
        Message = "Node {NodeId} lost its stream to peer {PeerId} at {Address}; dropping queued messages and reconnecting in {Backoff}")]
    public static partial void PeerStreamBroken(ILogger logger, Exception exception, string nodeId, string peerId, Uri address, TimeSpan backoff);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Debug,
        Message = "Node {NodeId} could not connect to peer {PeerId} at {Address} ({Reason}); retrying in {Backoff}")]
    public static partial void PeerConnectFailed(ILogger logger, string nodeId, string peerId, Uri address, string reason, TimeSpan backoff);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error,
        Message = "Node {NodeId} dropped a {MessageType} message to {PeerId}: {Size} bytes exceed the limit of {Limit}; raise GrpcTransportOptions limits or lower RaftOptions.MaxSizePerMessage")]
    public static partial void OversizedMessageDropped(ILogger logger, string nodeId, string peerId, Core.Messages.MessageType messageType, long size, long limit);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Error,
        Message = "Node {NodeId} refused by peer {PeerId} at {Address}: {Status}; check that both use the same cluster id and list each other as peers")]
    public static partial void RefusedByPeer(ILogger logger, string nodeId, string peerId, Uri address, string status);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Node {NodeId} now reaches peer {PeerId} at {Address}")]
    public static partial void PeerAddressSet(ILogger logger, string nodeId, string peerId, Uri address);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Information, Message = "Node {NodeId} removed peer {PeerId}")]
    public static partial void PeerRemoved(ILogger logger, string nodeId, string peerId);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Information,
        Message = "Node {NodeId}'s stream to peer {PeerId} at {Address} was ended by the peer ({Reason}); dropping queued messages and reconnecting in {Backoff}")]
    public static partial void PeerEndedStream(ILogger logger, string nodeId, string peerId, Uri address, string reason, TimeSpan backoff);

    // 3100–3199: the receiving side.
    [LoggerMessage(EventId = 3100, Level = LogLevel.Warning,
        Message = "Node {NodeId} refused a {Method} call from {Remote}: {Reason}")]
    public static partial void CallRejected(ILogger logger, string nodeId, string method, string remote, string reason);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Warning,
        Message = "Node {NodeId} refused a batch from peer {PeerId} and ended its stream: {Reason}")]
    public static partial void MalformedBatch(ILogger logger, string nodeId, string peerId, string reason);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Debug, Message = "Node {NodeId} accepted the stream of peer {PeerId} from {Remote}")]
    public static partial void StreamAccepted(ILogger logger, string nodeId, string peerId, string remote);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Debug, Message = "Node {NodeId}: the stream of peer {PeerId} ended ({Reason})")]
    public static partial void StreamEnded(ILogger logger, string nodeId, string peerId, string reason);

    // 3200–3299: snapshots.
    [LoggerMessage(EventId = 3200, Level = LogLevel.Information,
        Message = "Node {NodeId} sent a snapshot up to index {Index} term {Term} to {PeerId}: {Bytes} bytes in {Chunks} chunks")]
    public static partial void SnapshotSent(ILogger logger, string nodeId, long index, long term, string peerId, long bytes, int chunks);

    [LoggerMessage(EventId = 3201, Level = LogLevel.Warning, Message = "Node {NodeId} failed to send a snapshot to {PeerId}")]
    public static partial void SnapshotSendFailed(ILogger logger, Exception exception, string nodeId, string peerId);

    [LoggerMessage(EventId = 3202, Level = LogLevel.Information,
        Message = "Node {NodeId} received a snapshot up to index {Index} term {Term} from {PeerId}: {Bytes} bytes")]
    public static partial void SnapshotReceived(ILogger logger, string nodeId, long index, long term, string peerId, long bytes);

    [LoggerMessage(EventId = 3203, Level = LogLevel.Warning, Message = "Node {NodeId} failed to receive a snapshot from {PeerId}")]
    public static partial void SnapshotReceiveFailed(ILogger logger, Exception exception, string nodeId, string peerId);

    // 3300–3399: the client-facing service.
    [LoggerMessage(EventId = 3300, Level = LogLevel.Debug, Message = "Node {NodeId} forwards a {Method} call to leader {LeaderId}")]
    public static partial void Forwarding(ILogger logger, string nodeId, string method, string leaderId);

    [LoggerMessage(EventId = 3301, Level = LogLevel.Warning, Message = "Node {NodeId} could not forward a {Method} call to leader {LeaderId}")]
    public static partial void ForwardFailed(ILogger logger, Exception exception, string nodeId, string method, string leaderId);

    [LoggerMessage(EventId = 3302, Level = LogLevel.Error, Message = "Node {NodeId} failed on streamed command {CommandId}")]
    public static partial void StreamedCommandFailed(ILogger logger, Exception exception, string nodeId, long commandId);

    // 3400–3499: hosting.
    [LoggerMessage(EventId = 3400, Level = LogLevel.Information, Message = "Raft gRPC server of node {NodeId} listening on {Address}")]
    public static partial void ServerStarted(ILogger logger, string nodeId, Uri address);

    [LoggerMessage(EventId = 3401, Level = LogLevel.Information, Message = "Raft gRPC server of node {NodeId} stopped")]
    public static partial void ServerStopped(ILogger logger, string nodeId);
}
