using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Raft.Core.Membership;
using Raft.Transport.Grpc;
using Raft.Core.Runtime;

namespace Orleans.Raft.Networking;

/// <summary>
/// The leader's end of the forwarding stream: a follower's writes arrive in batches on one long-lived call, each is
/// proposed at once (so they share the leader's next log append), and the answers go back in batches as they complete.
/// </summary>
/// <remarks>
/// Bound by hand (no .proto): one duplex method whose messages are <see cref="ForwardingFrames"/>. A caller must name
/// this node's Raft group and a member of it, in the <see cref="ForwardingProtocol"/> headers.
/// <para>
/// When this endpoint stops (after its silo's node stopped, or while it still runs), the service says goodbye in a frame
/// of its own (<see cref="ForwardingFrames.NewGoodbye"/>), in order with its answers, and proposes nothing more: a write
/// it reads from then on is answered as not applied. The follower sends nothing more on the call and closes its side;
/// once every write read was answered, the call ends. So each write the follower sent gets an answer of its own, and
/// the endpoint's stop does not wait for its timeout to cut the call off. A follower that does not close its side
/// within <see cref="GoodbyeGrace"/> is cut off, its unanswered writes then of unknown outcome.
/// </para>
/// <para>
/// The transport's streamed client call (<c>RaftClientService.Stream</c>) ends the same way in another order: it stops
/// reading, answers what it read, says goodbye and drains, and its client counts every unanswered command as not
/// started. Here each write read after the goodbye gets a not-applied answer of its own, so the follower infers nothing;
/// both keep the call open until the other side closed it, since a connection torn down first can lose the answers.
/// </para>
/// </remarks>
internal sealed class ForwardingService(ForwardingServiceContext context, IHostApplicationLifetime lifetime) : ForwardingServiceBase
{
    // How long a stopping endpoint reads on after its goodbye, for the follower to close its side; well inside the
    // endpoint's own stop timeout (2 s, GrpcRaftStorageServer).
    internal static readonly TimeSpan GoodbyeGrace = TimeSpan.FromSeconds(1);

    public override async Task Forward(IAsyncStreamReader<byte[]> requests, IServerStreamWriter<byte[]> responses, ServerCallContext call)
    {
        var sender = context.Authorize(call, nameof(Forward), servedOverTls: false);
        var node = context.Node
            ?? throw new RpcException(new Status(StatusCode.Unavailable, $"The Raft node '{context.NodeId}' is not running; forward elsewhere."));
        if (lifetime.ApplicationStopping.IsCancellationRequested)
        {
            // Refused before "accepted": the follower sends nothing on this call, so its writes fail as not applied.
            throw new RpcException(new Status(StatusCode.Unavailable, $"The Raft endpoint of node '{context.NodeId}' is stopping; forward elsewhere."));
        }

        // An empty frame first: "accepted". The follower sends nothing before it, so writes on a refused or
        // unreachable stream fail as certainly not applied.
        await responses.WriteAsync([], call.CancellationToken).ConfigureAwait(false);

        var replies = Channel.CreateUnbounded<ForwardReply>(new UnboundedChannelOptions { SingleReader = true });
        var writer = WriteRepliesAsync(replies.Reader, responses, call.CancellationToken);

        // When reading fails (the follower went away) the writer is not awaited below; its failure is expected then.
        _ = writer.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        var pending = 0L;
        var readingDone = false;
        Action done = () =>
        {
            if (Interlocked.Decrement(ref pending) == 0 && Volatile.Read(ref readingDone))
            {
                replies.Writer.TryComplete();
            }
        };

        // On stop: the goodbye goes out in order with the replies, proposing ends, and reading goes on until the
        // follower closes its side (or the grace runs out), so every write it sent gets an answer of its own.
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(call.CancellationToken);
        var stopping = 0;
        using var onStop = lifetime.ApplicationStopping.UnsafeRegister(
            _ =>
            {
                Volatile.Write(ref stopping, 1);
                replies.Writer.TryWrite(ForwardReply.Goodbye);
                reading.CancelAfter(GoodbyeGrace);
            },
            null);
        try
        {
            await foreach (var frame in requests.ReadAllAsync(reading.Token).ConfigureAwait(false))
            {
                foreach (var request in ForwardingFrames.DecodeRequests(frame))
                {
                    Interlocked.Increment(ref pending);
                    if (Volatile.Read(ref stopping) == 1)
                    {
                        // Read after the goodbye: not proposed, so certainly not applied.
                        replies.Writer.TryWrite(ForwardReply.NotApplied(
                            request.Id, $"The Raft endpoint of node '{context.NodeId}' is stopping; the write was not applied."));
                        done();
                    }
                    else
                    {
                        _ = ProposeAsync(node, request, replies.Writer, done);
                    }
                }
            }
        }
        catch (InvalidDataException ex)
        {
            Log.ForwardingFrameRejected(context.Logger, context.NodeId, sender, ex.Message);
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }
        catch (Exception ex) when (ex is IOException || (ex is OperationCanceledException && reading.IsCancellationRequested))
        {
            // The follower or this server went away (a silo stopping or dying), or the follower did not close its side
            // within the grace after the goodbye: the follower reports the writes it sent and has no answer for as of
            // unknown outcome. Not an error of this service.
            Log.ForwardingStreamEnded(context.Logger, context.NodeId, sender, ex.Message);
            return;
        }
        finally
        {
            // The follower closed its side (or the call broke): answer what is still being proposed, then end.
            Volatile.Write(ref readingDone, true);
            if (Interlocked.Read(ref pending) == 0)
            {
                replies.Writer.TryComplete();
            }
        }

        await writer.ConfigureAwait(false);
        if (Volatile.Read(ref stopping) == 1)
        {
            Log.ForwardingStreamSaidGoodbye(context.Logger, context.NodeId, sender);
        }
    }

    // A membership change asked for by another silo of the group, carried out by this silo's provider (which refuses it
    // unless its node leads); the answer says what happened, or why not (MembershipFrames).
    public override async Task<byte[]> ChangeMembership(byte[] request, ServerCallContext call)
    {
        var sender = context.Authorize(call, nameof(ChangeMembership), servedOverTls: true);
        RaftMembershipRequest change;
        try
        {
            change = MembershipFrames.DecodeRequest(request);
        }
        catch (InvalidDataException ex)
        {
            Log.ForwardingFrameRejected(context.Logger, context.NodeId, sender, ex.Message);
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }

        if (context.MembershipChanges is not { } changes)
        {
            return MembershipFrames.EncodeFailure(new NotSupportedException(
                $"Raft node '{context.NodeId}' does not take membership changes from other silos; call on its own silo."));
        }

        try
        {
            return MembershipFrames.EncodeDone(await changes(change, call.CancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex) when (!call.CancellationToken.IsCancellationRequested)
        {
            return MembershipFrames.EncodeFailure(ex);
        }
    }

    private static async Task ProposeAsync(RaftNode node, ForwardRequest request, ChannelWriter<ForwardReply> replies, Action done)
    {
        ForwardReply reply;
        if (node.Completion.IsCompleted)
        {
            // Stopped before this write was proposed: it is certainly not applied (a stop racing this check is answered
            // below, as of unknown outcome).
            replies.TryWrite(ForwardReply.NotApplied(request.Id, $"Raft node '{node.Id}' has stopped; the write was not applied."));
            done();
            return;
        }

        try
        {
            var result = await node.ProposeAsync(request.Command).ConfigureAwait(false);
            reply = new ForwardReply(request.Id, ForwardOutcome.Applied, result.Index, result.Response);
        }
        catch (NotLeaderException ex)
        {
            reply = ForwardReply.NotApplied(request.Id, ex.Message);
        }
        catch (Exception ex) when (ex is ProposalDroppedException or ArgumentException or InvalidOperationException)
        {
            // Refused before anything was appended (overloaded, too large, not started).
            reply = new ForwardReply(request.Id, ForwardOutcome.Dropped, 0, ForwardingFrames.Text(ex.Message));
        }
        catch (ProposalSupersededException ex)
        {
            reply = new ForwardReply(request.Id, ForwardOutcome.Superseded, 0, ForwardingFrames.Text(ex.Message));
        }
        catch (Exception ex)
        {
            reply = new ForwardReply(request.Id, ForwardOutcome.Unknown, 0, ForwardingFrames.Text($"{ex.GetType().Name}: {ex.Message}"));
        }

        replies.TryWrite(reply);
        done();
    }

    // Everything answered since the last write goes out as one frame.
    private static async Task WriteRepliesAsync(ChannelReader<ForwardReply> replies, IServerStreamWriter<byte[]> responses, CancellationToken cancellationToken)
    {
        var batch = new List<ForwardReply>();
        while (await replies.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var bytes = 0;
            var goodbye = false;
            while (bytes < ForwardingProtocol.MaxFrameBytes && replies.TryRead(out var reply))
            {
                if (reply.IsGoodbye)
                {
                    goodbye = true;
                    break;
                }

                batch.Add(reply);
                bytes += ForwardingFrames.ReplyHeaderBytes + reply.Payload.Length;
            }

            if (batch.Count > 0)
            {
                await responses.WriteAsync(ForwardingFrames.EncodeReplies(batch), cancellationToken).ConfigureAwait(false);
                batch.Clear();
            }

            if (goodbye)
            {
                await responses.WriteAsync(ForwardingFrames.NewGoodbye(), cancellationToken).ConfigureAwait(false);
            }
        }
    }
}

/// <summary>What the forwarding service needs from the node's connection.</summary>
internal sealed class ForwardingServiceContext(
    string clusterId,
    string nodeId,
    IReadOnlyDictionary<string, string> members,
    Func<RaftNode?> node,
    Func<RaftMembershipRequest, CancellationToken, Task<ClusterConfiguration>>? membershipChanges,
    bool overTls,
    GrpcRaftTransport? peerAuthority,
    ILogger logger)
{
    public string NodeId => nodeId;

    public Func<RaftMembershipRequest, CancellationToken, Task<ClusterConfiguration>>? MembershipChanges => membershipChanges;

    public RaftNode? Node => node();

    public ILogger Logger => logger;

    // The caller must be a member of this Raft group: a follower of another group (a misconfigured address) is refused.
    // `servedOverTls`: whether the method is served over TLS at all (membership changes are; the write stream is not,
    // since silos send their writes over TLS to the transport's client service).
    public string Authorize(ServerCallContext call, string method, bool servedOverTls)
    {
        if (overTls)
        {
            // The headers name the sender, and only a certificate can prove it: over TLS this service serves a caller
            // only as the transport serves its peers, with the caller's certificate bound to the node id it claims
            // (peerAuthority, set when the transport binds them). Without that binding it serves nobody, and membership
            // changes are made on the leader's silo.
            if (peerAuthority is not null && servedOverTls)
            {
                return peerAuthority.AuthorizePeerCall(call, $"{nameof(ForwardingService)}.{method}");
            }

            var detail = servedOverTls
                ? "The forwarding service is not served over TLS without GrpcTlsOptions.BindCertificateToNodeId: it cannot tell which node a certificate speaks for."
                : $"{method} is not served over TLS: forwarded writes go to the transport's client service.";
            Log.ForwardingCallRejected(logger, nodeId, call.RequestHeaders.GetValue(ForwardingProtocol.SenderHeader) ?? "(none)", detail);
            throw new RpcException(new Status(StatusCode.PermissionDenied, detail));
        }

        var cluster = call.RequestHeaders.GetValue(ForwardingProtocol.ClusterHeader);
        var sender = call.RequestHeaders.GetValue(ForwardingProtocol.SenderHeader);
        if (!string.Equals(cluster, clusterId, StringComparison.Ordinal))
        {
            var detail = $"Node '{nodeId}' belongs to Raft group '{clusterId}', not '{cluster}'; check the forwarding silo's Members and RaftClusterId.";
            Log.ForwardingCallRejected(logger, nodeId, sender ?? "(none)", detail);
            throw new RpcException(new Status(StatusCode.PermissionDenied, detail));
        }

        if (sender is null || !members.ContainsKey(sender))
        {
            var detail = $"Node '{nodeId}' does not know the forwarding node '{sender}'; it is not in this silo's Members.";
            Log.ForwardingCallRejected(logger, nodeId, sender ?? "(none)", detail);
            throw new RpcException(new Status(StatusCode.PermissionDenied, detail));
        }

        return sender;
    }
}
