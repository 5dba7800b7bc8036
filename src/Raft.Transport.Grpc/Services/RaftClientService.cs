using Google.Protobuf;
using System.Net.Http;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Raft.Core.Runtime;
using Raft.Transport.Grpc.Mapping;
using Raft.Transport.Grpc.Security;
using Proto = Raft.Transport.Grpc.Protos;

namespace Raft.Transport.Grpc.Services;

// The application-facing service: propose (forwarded once to the leader by a follower), linearizable read, status.
internal sealed partial class RaftClientService(RaftClientServiceContext context, IHostApplicationLifetime lifetime) : Proto.RaftClient.RaftClientBase
{
    private static readonly TimeSpan StatusTimeout = TimeSpan.FromSeconds(2);

    private GrpcRaftTransport Transport => context.Transport;

    public override Task<Proto.CommandReply> Propose(Proto.CommandRequest request, ServerCallContext callContext)
    {
        CallGuard.RequireClient(Transport, callContext, nameof(Propose));
        return HandleAsync(request.Payload, read: false, callContext);
    }

    public override Task<Proto.CommandReply> Read(Proto.CommandRequest request, ServerCallContext callContext)
    {
        CallGuard.RequireClient(Transport, callContext, nameof(Read));
        return HandleAsync(request.Payload, read: true, callContext);
    }

    // The one path of a command, unary or streamed: a reply, or an RpcException with the status the unary call ends with.
    // Reads with a query handler: read index (thesis §6.4) on this node, follower or leader, then a local query.
    // Without: through the log, the query proposed like a command and answered by the state machine in log order.
    private Task<Proto.CommandReply> HandleAsync(ByteString payload, bool read, ServerCallContext callContext) =>
        read && context.QueryHandler is { } queryHandler
            ? ReadLocallyAsync(payload, callContext, queryHandler)
            : ExecuteAsync(payload, callContext, read ? nameof(Read) : nameof(Propose));

    public override async Task<Proto.StatusReply> GetStatus(Proto.StatusRequest request, ServerCallContext callContext)
    {
        CallGuard.RequireClient(Transport, callContext, nameof(GetStatus));
        var reply = new Proto.StatusReply();
        reply.Nodes.Add(context.Node is { } node
            ? ClientMapper.ToProto(node.Status, context.OwnAddress?.ToString())
            : ClientMapper.Unreachable(Transport.NodeId, context.OwnAddress?.ToString(), "no Raft node is attached to this server yet"));

        if (request.IncludePeers)
        {
            var peers = await Task.WhenAll(Transport.Peers.Select(p => AskPeerAsync(p.Key, p.Value, callContext.CancellationToken))).ConfigureAwait(false);
            reply.Nodes.Add(peers.OrderBy(p => p.Id, StringComparer.Ordinal));
        }

        return reply;
    }

    private async Task<Proto.NodeStatus> AskPeerAsync(string peerId, Uri address, CancellationToken cancellationToken)
    {
        try
        {
            var client = new Proto.RaftClient.RaftClientClient(Transport.GetChannel(peerId)!);
            var reply = await client.GetStatusAsync(
                new Proto.StatusRequest(), Transport.Headers, DateTime.UtcNow + StatusTimeout, cancellationToken).ConfigureAwait(false);
            var status = reply.Nodes.Count > 0 ? reply.Nodes[0] : ClientMapper.Unreachable(peerId, null, "the peer sent an empty status");
            status.Address = address.ToString();
            return status;
        }
        catch (RpcException ex)
        {
            return ClientMapper.Unreachable(peerId, address.ToString(), $"{ex.StatusCode}: {ex.Status.Detail}");
        }
    }

    private async Task<Proto.CommandReply> ReadLocallyAsync(ByteString query, ServerCallContext callContext, IRaftQueryHandler queryHandler)
    {
        var node = context.Node ?? throw CallGuard.Reject(Transport, callContext, nameof(Read), StatusCode.Unavailable,
            $"Node '{Transport.NodeId}' has no Raft node attached yet; retry shortly.");
        if (node.Completion.IsCompleted || Transport.Stopping.IsCancellationRequested)
        {
            throw Stopping(nameof(Read));
        }

        var cancellationToken = callContext.CancellationToken;
        long index;
        try
        {
            index = await node.WaitForLinearizableReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NotLeaderException ex)
        {
            var leaderId = ex.LeaderId ?? node.Status.LeaderId;
            Uri? leaderAddress = null;
            if (leaderId is not null)
            {
                Transport.TryGetPeerAddress(leaderId, out leaderAddress);
            }

            return ClientMapper.Refused(Proto.Outcome.NotLeader, node.Id, ex.Message, leaderId, leaderAddress);
        }
        catch (RaftTimeoutException ex)
        {
            // Safe to retry: no stale index is ever returned.
            return ClientMapper.Refused(Proto.Outcome.Dropped, node.Id, ex.Message);
        }
        catch (RaftNodeStoppedException ex)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, ex.Message));
        }

        var result = await queryHandler.QueryAsync(query.Memory, cancellationToken).ConfigureAwait(false);
        return ClientMapper.Applied(new ProposalResult(index, result), node.Id);
    }

    private async Task<Proto.CommandReply> ExecuteAsync(ByteString payload, ServerCallContext callContext, string method)
    {
        var forwarded = callContext.RequestHeaders.GetValue(CallHeaders.Forwarded) is not null;
        var node = context.Node ?? throw CallGuard.Reject(Transport, callContext, method, StatusCode.Unavailable,
            $"Node '{Transport.NodeId}' has no Raft node attached yet; retry shortly.");
        if (node.Completion.IsCompleted || Transport.Stopping.IsCancellationRequested)
        {
            throw Stopping(method);
        }

        var cancellationToken = callContext.CancellationToken;
        var leaderId = node.Status.LeaderId ?? await WaitForLeaderAsync(node, cancellationToken).ConfigureAwait(false);
        if (leaderId == node.Id)
        {
            try
            {
                var result = await node.ProposeAsync(payload.Memory, cancellationToken).ConfigureAwait(false);
                return ClientMapper.Applied(result, node.Id);
            }
            catch (NotLeaderException ex)
            {
                leaderId = ex.LeaderId;
            }
            catch (Exception ex) when (ex is RaftException or ArgumentException)
            {
                return RefusedOrThrow(node, ex);
            }
        }

        if (leaderId is null)
        {
            return ClientMapper.Refused(Proto.Outcome.NotLeader, node.Id, $"Node '{node.Id}' knows no leader right now (an election may be in progress); retry shortly.");
        }

        Transport.TryGetPeerAddress(leaderId, out var leaderAddress);
        if (forwarded || leaderAddress is null)
        {
            return ClientMapper.Refused(Proto.Outcome.NotLeader, node.Id, $"Node '{node.Id}' is not the leader; the leader is '{leaderId}'.", leaderId, leaderAddress);
        }

        return await ForwardAsync(payload, callContext, method, leaderId, leaderAddress).ConfigureAwait(false);
    }

    // A proposal this node (the leader) took and then failed: the reply that says it was not applied, or the
    // RpcException the unary call ends with. NotLeaderException is the caller's (it re-routes).
    private static Proto.CommandReply RefusedOrThrow(RaftNode node, Exception exception) => exception switch
    {
        ProposalDroppedException ex => ClientMapper.Refused(Proto.Outcome.Dropped, node.Id, ex.Message),
        ProposalSupersededException ex => ClientMapper.Refused(Proto.Outcome.Superseded, node.Id, ex.Message),
        ArgumentException ex => throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message)),
        RequestRejectedException ex => throw new RpcException(new Status(StatusCode.FailedPrecondition, ex.Message)),

        // Stopped, or the result was lost (a snapshot replaced the log around it): the command may have been
        // committed, so the outcome is unknown.
        RaftException ex => throw new RpcException(new Status(StatusCode.Unavailable, $"Node '{node.Id}': the command may or may not have been applied: {ex.Message}")),
        _ => throw exception,
    };

    private async Task<Proto.CommandReply> ForwardAsync(ByteString payload, ServerCallContext callContext, string method, string leaderId, Uri leaderAddress)
    {
        var request = new Proto.CommandRequest { Payload = payload };
        Log.Forwarding(Transport.Logger, Transport.NodeId, method, leaderId);
        var headers = new Metadata
        {
            { CallHeaders.ClusterId, Transport.ClusterId },
            { CallHeaders.SenderId, Transport.NodeId },
            { CallHeaders.Forwarded, "1" },
        };
        var deadline = DateTime.UtcNow + Transport.Options.ForwardTimeout;
        if (callContext.Deadline < deadline)
        {
            deadline = callContext.Deadline;
        }

        try
        {
            var client = new Proto.RaftClient.RaftClientClient(Transport.GetChannel(leaderId)!);
            var call = method == nameof(Read)
                ? client.ReadAsync(request, headers, deadline, callContext.CancellationToken)
                : client.ProposeAsync(request, headers, deadline, callContext.CancellationToken);
            var reply = await call.ResponseAsync.ConfigureAwait(false);
            if (reply.Outcome == Proto.Outcome.Applied && reply.LeaderAddress.Length == 0)
            {
                // Tells the client where the leader is, so that its next calls skip this hop.
                reply.LeaderId = leaderId;
                reply.LeaderAddress = leaderAddress.ToString();
            }

            return reply;
        }
        catch (ObjectDisposedException) when (Transport.Stopping.IsCancellationRequested)
        {
            // The transport (and with it the channel to the leader) went away under the call: nothing was sent.
            throw Stopping(method);
        }
        catch (RpcException ex) when (!callContext.CancellationToken.IsCancellationRequested)
        {
            Log.ForwardFailed(Transport.Logger, ex, Transport.NodeId, method, leaderId);
            if (NeverSent(ex))
            {
                return ClientMapper.Refused(
                    Proto.Outcome.NotLeader, Transport.NodeId, $"The leader '{leaderId}' is unreachable from '{Transport.NodeId}': {ex.Status.Detail}", leaderId, leaderAddress);
            }

            throw new RpcException(new Status(
                ex.StatusCode == StatusCode.DeadlineExceeded ? StatusCode.DeadlineExceeded : StatusCode.Unavailable,
                $"Forwarding to the leader '{leaderId}' failed; the command may or may not have been applied: {ex.StatusCode}: {ex.Status.Detail}"));
        }
    }

    private async Task<string?> WaitForLeaderAsync(RaftNode node, CancellationToken cancellationToken)
    {
        try
        {
            return await node.WaitForLeaderAsync(cancellationToken).WaitAsync(Transport.Options.ForwardTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return null;
        }
        catch (RaftNodeStoppedException ex)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, ex.Message));
        }
    }

    // Unavailable, and certainly not applied: the caller may retry on another node.
    private RpcException Stopping(string method) => new(
        new Status(StatusCode.Unavailable, method switch
        {
            nameof(Read) => $"Node '{Transport.NodeId}' is stopping; the read was not taken; retry on another node.",
            nameof(Stream) => $"Node '{Transport.NodeId}' is stopping; it takes no new command stream (nothing was applied); retry on another node.",
            _ => $"Node '{Transport.NodeId}' is stopping; the command was not taken (not applied); retry on another node.",
        }),
        new Metadata { { CallHeaders.NotApplied, "1" } });

    // True when the call cannot have reached the other side: the connection was never established.
    internal static bool NeverSent(RpcException exception) =>
        exception.StatusCode == StatusCode.Unavailable &&
        exception.InnerException is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError or HttpRequestError.SecureConnectionError };
}
