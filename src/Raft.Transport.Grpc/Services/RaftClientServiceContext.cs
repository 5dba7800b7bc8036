using Raft.Core.Runtime;

namespace Raft.Transport.Grpc.Services;

// What the client service needs: the transport (identity, peers, channels) and the node, which may be created
// after the server starts (then calls are refused as unavailable until it exists).
internal sealed class RaftClientServiceContext(GrpcRaftTransport transport, Func<RaftNode?> node, IRaftQueryHandler? queryHandler)
{
    public GrpcRaftTransport Transport { get; } = transport;

    // Null: reads go through the log.
    public IRaftQueryHandler? QueryHandler { get; } = queryHandler;

    public RaftNode? Node => node();

    // The address this node is reached at, shown in status replies; set by the server that hosts it, when known.
    public Uri? OwnAddress { get; set; }

    // How long a stopping node waits, after its goodbye on a command stream, for the client to close its side.
    public TimeSpan GoodbyeGracePeriod { get; set; } = TimeSpan.FromSeconds(1);
}
