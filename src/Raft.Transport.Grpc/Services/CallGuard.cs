using Grpc.Core;
using Raft.Transport.Grpc.Security;

namespace Raft.Transport.Grpc.Services;

// Checks who is calling: the cluster id must be ours and a sender id must name a known peer. A refusal is logged,
// counted, and thrown as a status that says what to fix.
internal static class CallGuard
{
    public static string RequirePeer(GrpcRaftTransport transport, ServerCallContext context, string method)
    {
        RequireCluster(transport, context, method);
        var sender = context.RequestHeaders.GetValue(CallHeaders.SenderId);
        if (string.IsNullOrEmpty(sender))
        {
            throw Reject(transport, context, method, StatusCode.Unauthenticated,
                $"The call has no '{CallHeaders.SenderId}' header; node-to-node calls must name the sending node.");
        }

        RequireKnown(transport, context, method, sender);
        return sender;
    }

    // Client calls need the cluster id; a sender id (a forwarding follower) must be a known peer.
    public static string? RequireClient(GrpcRaftTransport transport, ServerCallContext context, string method)
    {
        RequireCluster(transport, context, method);
        var sender = context.RequestHeaders.GetValue(CallHeaders.SenderId);
        if (!string.IsNullOrEmpty(sender))
        {
            RequireKnown(transport, context, method, sender);
        }

        return string.IsNullOrEmpty(sender) ? null : sender;
    }

    public static RpcException Reject(GrpcRaftTransport transport, ServerCallContext context, string method, StatusCode code, string detail)
    {
        Log.CallRejected(transport.Logger, transport.NodeId, method, context.Peer, detail);
        TransportMetrics.CallsRejected.Add(1, transport.NodeTag);
        return new RpcException(new Status(code, detail));
    }

    private static void RequireCluster(GrpcRaftTransport transport, ServerCallContext context, string method)
    {
        var clusterId = context.RequestHeaders.GetValue(CallHeaders.ClusterId);
        if (string.IsNullOrEmpty(clusterId))
        {
            throw Reject(transport, context, method, StatusCode.Unauthenticated,
                $"The call has no '{CallHeaders.ClusterId}' header; every call must name the cluster it is meant for.");
        }

        if (!string.Equals(clusterId, transport.ClusterId, StringComparison.Ordinal))
        {
            throw Reject(transport, context, method, StatusCode.PermissionDenied,
                $"Node '{transport.NodeId}' belongs to cluster '{transport.ClusterId}', not '{clusterId}'; check the caller's cluster id and peer addresses.");
        }
    }

    private static void RequireKnown(GrpcRaftTransport transport, ServerCallContext context, string method, string sender)
    {
        if (!transport.IsKnownPeer(sender))
        {
            throw Reject(transport, context, method, StatusCode.PermissionDenied,
                $"Node '{sender}' is not a known peer of node '{transport.NodeId}' in cluster '{transport.ClusterId}'; add it to the peers of this node.");
        }
    }
}
