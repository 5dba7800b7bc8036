using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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
/// When this endpoint stops (its silo's node stopped), the service stops reading, answers every write it read, then says
/// goodbye in a frame of its own (<see cref="ForwardingFrames.Goodbye"/>) and ends the call: the follower then knows that
/// every write still unanswered was never read, so never applied, and sends it to the next leader at once. Without it
/// the call would hold the endpoint's stop until its timeout and leave those writes of unknown outcome.
/// </para>
/// </remarks>
internal sealed class ForwardingService(ForwardingServiceContext context, IHostApplicationLifetime lifetime) : ForwardingServiceBase
{
    public override async Task Forward(IAsyncStreamReader<byte[]> requests, IServerStreamWriter<byte[]> responses, ServerCallContext call)
    {
        var sender = context.Authorize(call);
        var node = context.Node
            ?? throw new RpcException(new Status(StatusCode.Unavailable, $"The Raft node '{context.NodeId}' is not running; forward elsewhere."));

        // An empty frame first: "accepted". The follower sends nothing before it, so writes on a refused or
        // unreachable stream fail as certainly not applied.
        await responses.WriteAsync([], call.CancellationToken).ConfigureAwait(false);

        var replies = Channel.CreateUnbounded<ForwardReply>(new UnboundedChannelOptions { SingleReader = true });
        var writer = WriteRepliesAsync(replies.Reader, responses, call.CancellationToken);

        // When reading fails (the follower went away) the writer is not awaited below; its failure is expected then.
        _ = writer.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        var pending = 0L;
        var readingDone = false;
        var goodbye = false;
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(call.CancellationToken, lifetime.ApplicationStopping);
        Action done = () =>
        {
            if (Interlocked.Decrement(ref pending) == 0 && Volatile.Read(ref readingDone))
            {
                replies.Writer.TryComplete();
            }
        };
        try
        {
            await foreach (var frame in requests.ReadAllAsync(reading.Token).ConfigureAwait(false))
            {
                foreach (var request in ForwardingFrames.DecodeRequests(frame))
                {
                    Interlocked.Increment(ref pending);
                    _ = ProposeAsync(node, request, replies.Writer, done);
                }
            }
        }
        catch (OperationCanceledException) when (lifetime.ApplicationStopping.IsCancellationRequested && !call.CancellationToken.IsCancellationRequested)
        {
            // This endpoint stops: nothing more is read, what was read is answered below, then the goodbye.
            goodbye = true;
        }
        catch (InvalidDataException ex)
        {
            Log.ForwardingFrameRejected(context.Logger, context.NodeId, sender, ex.Message);
            throw new RpcException(new Status(StatusCode.InvalidArgument, ex.Message));
        }
        catch (Exception ex) when (ex is IOException || (ex is OperationCanceledException && call.CancellationToken.IsCancellationRequested))
        {
            // The follower or this server went away (a silo stopping or dying): nobody is left to answer, and the
            // follower already reports the writes it sent as of unknown outcome. Not an error of this service.
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
        if (goodbye)
        {
            await responses.WriteAsync(ForwardingFrames.Goodbye, call.CancellationToken).ConfigureAwait(false);
            Log.ForwardingStreamSaidGoodbye(context.Logger, context.NodeId, sender);
        }
    }

    private static async Task ProposeAsync(RaftNode node, ForwardRequest request, ChannelWriter<ForwardReply> replies, Action done)
    {
        ForwardReply reply;
        if (node.Completion.IsCompleted)
        {
            // Stopped before this write was read: it is certainly not applied (a stop racing this check is answered
            // below, as of unknown outcome).
            replies.TryWrite(new ForwardReply(request.Id, ForwardOutcome.NotLeader, 0, ForwardingFrames.Text($"Raft node '{node.Id}' has stopped; the write was not applied.")));
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
            reply = new ForwardReply(request.Id, ForwardOutcome.NotLeader, 0, ForwardingFrames.Text(ex.Message));
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
            while (bytes < ForwardingProtocol.MaxFrameBytes && replies.TryRead(out var reply))
            {
                batch.Add(reply);
                bytes += ForwardingFrames.ReplyHeaderBytes + reply.Payload.Length;
            }

            await responses.WriteAsync(ForwardingFrames.EncodeReplies(batch), cancellationToken).ConfigureAwait(false);
            batch.Clear();
        }
    }
}

/// <summary>What the forwarding service needs from the node's connection.</summary>
internal sealed class ForwardingServiceContext(string clusterId, string nodeId, IReadOnlyDictionary<string, string> members, Func<RaftNode?> node, ILogger logger)
{
    public string NodeId => nodeId;

    public RaftNode? Node => node();

    public ILogger Logger => logger;

    // The caller must be a member of this Raft group: a follower of another group (a misconfigured address) is refused.
    public string Authorize(ServerCallContext call)
    {
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
