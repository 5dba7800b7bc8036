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
        RequireInitialConfiguration(transport, context, method, sender);
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

    // Two nodes started with different initial voters would count majorities over different sets: keep them apart. A
    // caller that sends no value runs a build without the setting (a cluster being upgraded one node at a time).
    private static void RequireInitialConfiguration(GrpcRaftTransport transport, ServerCallContext context, string method, string sender)
    {
        var theirs = context.RequestHeaders.GetValue(CallHeaders.InitialConfigurationId);
        var ours = transport.Options.InitialConfigurationId;
        if (ours is not null && !string.IsNullOrEmpty(theirs) && !string.Equals(theirs, ours, StringComparison.Ordinal))
        {
            throw Reject(transport, context, method, StatusCode.PermissionDenied,
                $"Node '{sender}' was started with another initial configuration ('{theirs}') than node '{transport.NodeId}' ('{ours}'): " +
                "the two were given different initial voters, so they cannot take part in one group. Give every node the same initial voters " +
                "(Orleans.Raft: the same Members on every silo; silos that join later go into AdditionalMembers).");
        }
    }

    private static void RequireKnown(GrpcRaftTransport transport, ServerCallContext context, string method, string sender)
    {
        if (!transport.IsKnownPeer(sender))
        {
            throw Reject(transport, context, method, StatusCode.PermissionDenied,
                $"Node '{sender}' is not a known peer of node '{transport.NodeId}' in cluster '{transport.ClusterId}'; add it to the peers of this node.");
        }

        RequireCertificateOf(transport, context, method, sender);
    }

    // With TLS and the binding on, a caller speaks as node `sender` only with a certificate carrying that node's name:
    // any certificate from the cluster CA passes the handshake, and this is what stops one node impersonating another.
    private static void RequireCertificateOf(GrpcRaftTransport transport, ServerCallContext context, string method, string sender)
    {
        if (transport.Tls is not { BindCertificateToNodeId: true } tls)
        {
            return;
        }

        var expected = tls.CertificateNameOf(sender);
        var certificate = context.GetHttpContext().Connection.ClientCertificate;
        if (certificate is null)
        {
            throw Reject(transport, context, method, StatusCode.Unauthenticated,
                $"The caller claims to be node '{sender}' but presented no client certificate; node '{transport.NodeId}' binds node ids to certificates (certificate name '{expected}').");
        }

        if (!TlsMaterial.CarriesName(certificate, expected))
        {
            throw Reject(transport, context, method, StatusCode.PermissionDenied,
                $"The caller claims to be node '{sender}' but its certificate ('{certificate.Subject}') does not carry the name '{expected}' (as subject CN or SAN DNS name); " +
                "each node must use its own certificate, or map its id to its certificate name in GrpcTlsOptions.CertificateNames.");
        }
    }
}
