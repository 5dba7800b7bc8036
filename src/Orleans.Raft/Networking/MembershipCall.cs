using Grpc.Core;
using Raft.Core.Membership;
using Raft.Core.Runtime;

namespace Orleans.Raft.Networking;

// One forwarded membership change as a unary gRPC call (ForwardingProtocol.ChangeMembership), on whichever channel
// carries it (the forwarding client's without TLS, the transport's with it), and what its failures are reported as.
internal static class MembershipCall
{
    // Safe to retry, so an answer lost on the way is only reported as such.
    public static async Task<ClusterConfiguration> SendAsync(
        Func<CancellationToken, AsyncUnaryCall<byte[]>> start, string nodeId, string leaderId, CancellationToken cancellationToken)
    {
        AsyncUnaryCall<byte[]> call;
        try
        {
            call = start(cancellationToken);
        }
        catch (Exception ex) when (ex is ArgumentException or ObjectDisposedException)
        {
            // The peer is gone from this node's transport (it stops, or forgot the peer): nothing was sent.
            throw new NotLeaderException($"Node '{nodeId}' cannot reach node '{leaderId}' to forward a membership change ({ex.Message}); retry.", ex);
        }

        byte[] reply;
        try
        {
            using (call)
            {
                reply = await call.ResponseAsync.ConfigureAwait(false);
            }
        }
        catch (RpcException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException($"The membership change forwarded to node '{leaderId}' was abandoned; it may still be made.", ex, cancellationToken);
        }
        catch (RpcException ex)
        {
            var why = $"{ex.StatusCode}: {ex.Status.Detail}";
            throw ex.StatusCode switch
            {
                // Also a connection that broke after the request left: the change may have been made; retrying is safe.
                StatusCode.Unavailable => new NotLeaderException($"Node '{nodeId}' could not reach node '{leaderId}', or lost the connection, to forward a membership change ({why}); retry.", ex),
                StatusCode.Unimplemented => new NotSupportedException($"The silo of node '{leaderId}' runs a version that takes no forwarded membership changes: call on that silo ({why}).", ex),
                StatusCode.PermissionDenied or StatusCode.Unauthenticated or StatusCode.InvalidArgument =>
                    new InvalidOperationException($"Node '{leaderId}' refused a membership change forwarded by '{nodeId}' ({why}).", ex),
                _ => new IOException($"The membership change forwarded by node '{nodeId}' to '{leaderId}' got no answer ({why}); it may or may not be made. Retrying is safe.", ex),
            };
        }

        return MembershipFrames.DecodeReply(reply, leaderId);
    }
}
