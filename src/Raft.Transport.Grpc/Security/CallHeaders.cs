namespace Raft.Transport.Grpc.Security;

/// <summary>The gRPC metadata headers every Raft call carries.</summary>
public static class CallHeaders
{
    /// <summary>The cluster id of the caller; calls whose id differs from the receiver's are refused.</summary>
    public const string ClusterId = "raft-cluster-id";

    /// <summary>The node id of the calling node; calls from a node the receiver does not know are refused.</summary>
    public const string SenderId = "raft-sender-id";

    /// <summary>
    /// The caller's <see cref="GrpcTransportOptions.InitialConfigurationId"/>, on node-to-node calls when set; a call
    /// whose value differs from the receiver's is refused.
    /// </summary>
    public const string InitialConfigurationId = "raft-initial-configuration";

    /// <summary>Set on a client call a follower forwarded to its leader, so that it is forwarded at most once.</summary>
    public const string Forwarded = "raft-forwarded";

    /// <summary>Trailer of a refused call whose command was certainly not applied (the node was stopping), so it may be retried elsewhere.</summary>
    public const string NotApplied = "raft-not-applied";
}
