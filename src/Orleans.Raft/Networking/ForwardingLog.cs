using Microsoft.Extensions.Logging;

namespace Orleans.Raft;

// The forwarding stream's log messages (Networking/), EventIds 4200–4219.
internal static partial class Log
{
    [LoggerMessage(EventId = 4200, Level = LogLevel.Warning,
        Message = "Raft node {NodeId} refused a forwarding call from {Sender}: {Detail}")]
    public static partial void ForwardingCallRejected(ILogger logger, string nodeId, string sender, string detail);

    [LoggerMessage(EventId = 4201, Level = LogLevel.Warning,
        Message = "Raft node {NodeId} received a malformed forwarding frame from {Sender}: {Detail}")]
    public static partial void ForwardingFrameRejected(ILogger logger, string nodeId, string sender, string detail);

    [LoggerMessage(EventId = 4202, Level = LogLevel.Debug,
        Message = "Raft node {NodeId} lost its forwarding stream to {LeaderId}; {Unsent} writes not sent, {Unanswered} unanswered: {Reason}")]
    public static partial void ForwardingStreamLost(ILogger logger, string nodeId, string leaderId, int unsent, int unanswered, string reason);

    [LoggerMessage(EventId = 4203, Level = LogLevel.Debug,
        Message = "Raft node {NodeId}: the forwarding stream from {Sender} ended abruptly: {Reason}")]
    public static partial void ForwardingStreamEnded(ILogger logger, string nodeId, string sender, string reason);

    [LoggerMessage(EventId = 4204, Level = LogLevel.Debug,
        Message = "Raft node {NodeId}'s endpoint stopped: it answered every write that {Sender} forwarded on the stream and ended it")]
    public static partial void ForwardingStreamSaidGoodbye(ILogger logger, string nodeId, string sender);

    [LoggerMessage(EventId = 4205, Level = LogLevel.Debug,
        Message = "Raft node {NodeId}: the leader {LeaderId} stops; of the {Waiting} writes waiting on the forwarding stream, those sent get their answers and the others fail as not applied")]
    public static partial void ForwardingLeaderSaidGoodbye(ILogger logger, string nodeId, string leaderId, int waiting);

    [LoggerMessage(EventId = 4206, Level = LogLevel.Error,
        Message = "In-memory network: node {NodeId} was started with other initial voters ({Ours}) than node {PeerId} ({Theirs}); the two refuse each other (nothing passes between them, as over gRPC). Give every silo the same Members; silos that join later go into AdditionalMembers or are added with their addresses")]
    public static partial void InitialConfigurationMismatch(ILogger logger, string nodeId, string ours, string peerId, string theirs);
}
