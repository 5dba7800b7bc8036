using Grpc.Core;
using Raft.Transport.Grpc.Services;

namespace Raft.Transport.Grpc;

// Calls an application makes between the nodes beside the transport's own (Orleans.Raft's forwarded membership
// changes): sent on the peer's channel with the headers that name this node, and checked on arrival as the transport
// checks its peers' calls, the certificate binding included.
public sealed partial class GrpcRaftTransport
{
    /// <summary>
    /// True when a caller's node id is proven, not merely claimed: TLS with <c>BindCertificateToNodeId</c>, so that
    /// <see cref="AuthorizePeerCall"/> accepts a call as node X only with a certificate that carries X's name. Without
    /// TLS any caller that knows the cluster id can claim any node id.
    /// </summary>
    public bool ProvesCallerIds => Tls is { BindCertificateToNodeId: true };

    /// <summary>
    /// Checks a call that the application serves on this transport's endpoint, beside its services, as the transport
    /// checks its peers' calls: the cluster id, a sender that is a known peer, the sender's certificate when
    /// <see cref="ProvesCallerIds"/>, and the initial configuration. A refusal is logged and counted like the
    /// transport's own.
    /// </summary>
    /// <param name="context">The call.</param>
    /// <param name="method">The method's name, for the log.</param>
    /// <returns>The calling peer's node id.</returns>
    /// <exception cref="RpcException">The call is refused; its status says why.</exception>
    public string AuthorizePeerCall(ServerCallContext context, string method)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentException.ThrowIfNullOrWhiteSpace(method);
        return CallGuard.RequirePeer(this, context, method);
    }

    /// <summary>
    /// Starts a unary call to the peer <paramref name="nodeId"/>, beside the message stream: on the peer's channel (this
    /// transport's TLS set-up and client certificate) with the headers that name this node, which
    /// <see cref="AuthorizePeerCall"/> checks on the other side.
    /// </summary>
    /// <typeparam name="TRequest">The request's type.</typeparam>
    /// <typeparam name="TResponse">The response's type.</typeparam>
    /// <param name="nodeId">The peer.</param>
    /// <param name="method">The method (served by the application on the peer's endpoint).</param>
    /// <param name="request">The request.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The call.</returns>
    /// <exception cref="ArgumentException"><paramref name="nodeId"/> is not a peer of this node.</exception>
    /// <exception cref="ObjectDisposedException">The transport was disposed.</exception>
    public AsyncUnaryCall<TResponse> CallPeer<TRequest, TResponse>(string nodeId, Method<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken = default)
        where TRequest : class
        where TResponse : class
    {
        ArgumentNullException.ThrowIfNull(method);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var channel = GetChannel(nodeId) ?? throw new ArgumentException($"'{nodeId}' is not a peer of node '{NodeId}'.", nameof(nodeId));
        return channel.CreateCallInvoker().AsyncUnaryCall(method, null, new CallOptions(Headers, cancellationToken: cancellationToken), request);
    }
}
