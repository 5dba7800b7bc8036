using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Raft.Core.Runtime;
using Raft.Transport.Grpc.Mapping;
using Raft.Transport.Grpc.Security;
using Proto = Raft.Transport.Grpc.Protos;

namespace Raft.Transport.Grpc.Services;

// The streamed client call: many commands in flight on one HTTP/2 stream, answered by id as they complete. Per
// command it costs a few bytes of framing instead of a whole HTTP/2 request (headers, a stream, trailers), and the
// replies that complete together leave in one frame.
internal sealed partial class RaftClientService
{
    // Replies written in one frame at most; more wait for the next.
    private const int MaxRepliesPerFrame = 4096;

    public override async Task Stream(
        IAsyncStreamReader<Proto.StreamedCommandBatch> requestStream,
        IServerStreamWriter<Proto.StreamedReplyBatch> responseStream,
        ServerCallContext callContext)
    {
        CallGuard.RequireClient(Transport, callContext, nameof(Stream));
        if (context.Node is { Completion.IsCompleted: true } || Transport.Stopping.IsCancellationRequested)
        {
            // Refused before it is accepted, so the client knows that none of its commands started.
            throw Stopping(nameof(Stream));
        }

        // A stopping node (its transport disposed, or its host stopping) stops reading commands, answers those it
        // read, and says goodbye (see SayGoodbyeAsync): the client then knows the unanswered ones never started.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(callContext.CancellationToken, Transport.Stopping, lifetime.ApplicationStopping);

        // Accepted: the client writes no command before it sees these headers, so a call refused above (or never
        // connected) carries no command whose outcome could be in doubt.
        await callContext.WriteResponseHeadersAsync([]).ConfigureAwait(false);
        var replies = Channel.CreateUnbounded<Proto.StreamedReply>(new UnboundedChannelOptions { SingleReader = true });
        var writing = WriteRepliesAsync(replies.Reader, responseStream, callContext.CancellationToken);
        var outstanding = 0;
        var nodeStopping = false;
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            while (await requestStream.MoveNext(stopping.Token).ConfigureAwait(false))
            {
                foreach (var command in requestStream.Current.Commands)
                {
                    Interlocked.Increment(ref outstanding);
                    _ = AnswerAsync(command.Id, command.Payload, command.Read);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested && !callContext.CancellationToken.IsCancellationRequested)
        {
            // This node is stopping: no command read from now on starts.
            nodeStopping = true;
        }
        finally
        {
            // The client closed its side, this node is stopping, or the call broke: answer what is in flight.
            if (Interlocked.Decrement(ref outstanding) == -1)
            {
                drained.TrySetResult();
            }

            try
            {
                // A client that is gone reads no answer: what is still in flight keeps its course in Raft without
                // holding this call open (which a leader that cannot reach a quorum could do for a long time).
                await drained.Task.WaitAsync(callContext.CancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            replies.Writer.TryComplete();
            await writing.ConfigureAwait(false);
        }

        if (nodeStopping)
        {
            await SayGoodbyeAsync(requestStream, responseStream, callContext, context.GoodbyeGracePeriod).ConfigureAwait(false);
        }

        // One state machine per command. On the leader a proposal goes straight to the node, without the call's token:
        // the loop above stops waiting for it when the client goes away, and Raft resolves every proposal it took
        // (applied, superseded, or failed when leadership or the node is lost).
        async Task AnswerAsync(long id, ByteString payload, bool read)
        {
            Proto.StreamedReply reply;
            try
            {
                Proto.CommandReply answer;
                if (!read && LeaderNode() is { } node)
                {
                    try
                    {
                        answer = ClientMapper.Applied(await node.ProposeAsync(payload.Memory).ConfigureAwait(false), node.Id);
                    }
                    catch (NotLeaderException)
                    {
                        // Lost leadership meanwhile: the general path finds the new leader and forwards.
                        answer = await HandleAsync(payload, read, callContext).ConfigureAwait(false);
                    }
                    catch (Exception ex) when (ex is RaftException or ArgumentException)
                    {
                        answer = RefusedOrThrow(node, ex);
                    }
                }
                else
                {
                    answer = await HandleAsync(payload, read, callContext).ConfigureAwait(false);
                }

                reply = new Proto.StreamedReply { Id = id, Reply = answer };
            }
            catch (RpcException ex)
            {
                reply = new Proto.StreamedReply
                {
                    Id = id,
                    StatusCode = (int)ex.StatusCode,
                    StatusDetail = ex.Status.Detail,
                    NotApplied = ex.Trailers.Get(CallHeaders.NotApplied) is not null,
                };
            }
            catch (OperationCanceledException) when (callContext.CancellationToken.IsCancellationRequested)
            {
                reply = new Proto.StreamedReply { Id = id, StatusCode = (int)StatusCode.Cancelled, StatusDetail = "The call was cancelled." };
            }
            catch (Exception ex)
            {
                // What a unary call would end with (Unknown); every command must be answered, or the call never ends.
                Log.StreamedCommandFailed(Transport.Logger, ex, Transport.NodeId, id);
                reply = new Proto.StreamedReply { Id = id, StatusCode = (int)StatusCode.Unknown, StatusDetail = $"Node '{Transport.NodeId}' failed on the command: {ex.Message}" };
            }

            replies.Writer.TryWrite(reply);
            if (Interlocked.Decrement(ref outstanding) == -1)
            {
                drained.TrySetResult();
            }
        }
    }

    // Every command this call read is answered by now. Ending the call here would not tell the client so reliably:
    // the server stops right after, and when the connection goes while the client's side of the call is still open,
    // SocketsHttpHandler fails the whole response, its buffered end included, if the client has not read it yet. The
    // client would then report commands this node never read as "may or may not have been applied" (found in CI).
    // So the node says goodbye in a message of its own, starts nothing it reads after it, and ends the call once the
    // client, having read the goodbye, closed its side: with both sides complete the connection can go.
    private static async Task SayGoodbyeAsync(
        IAsyncStreamReader<Proto.StreamedCommandBatch> requestStream,
        IServerStreamWriter<Proto.StreamedReplyBatch> responseStream,
        ServerCallContext callContext,
        TimeSpan gracePeriod)
    {
        // A client that does not close its side (an older one, or a stuck one that does not even read) holds the
        // node's stop no longer than this.
        using var grace = CancellationTokenSource.CreateLinkedTokenSource(callContext.CancellationToken);
        grace.CancelAfter(gracePeriod);
        try
        {
            await responseStream.WriteAsync(new Proto.StreamedReplyBatch { Stopping = true }, grace.Token).ConfigureAwait(false);
            while (await requestStream.MoveNext(grace.Token).ConfigureAwait(false))
            {
                // Written before the client read the goodbye: it counts these as not applied, and they are not started.
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException or RpcException)
        {
            // The client is gone, kept its side open past the grace period, or sent what cannot be read (and is not
            // started either): the call ends now.
        }
    }

    // This node when it leads, is running and is not stopping: proposals need no routing.
    private RaftNode? LeaderNode() =>
        context.Node is { } node && node.Status.LeaderId == node.Id && !node.Completion.IsCompleted && !Transport.Stopping.IsCancellationRequested
            ? node
            : null;

    private static async Task WriteRepliesAsync(ChannelReader<Proto.StreamedReply> replies, IServerStreamWriter<Proto.StreamedReplyBatch> responseStream, CancellationToken cancellationToken)
    {
        try
        {
            while (await replies.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var batch = new Proto.StreamedReplyBatch();
                while (batch.Replies.Count < MaxRepliesPerFrame && replies.TryRead(out var reply))
                {
                    batch.Replies.Add(reply);
                }

                await responseStream.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The call ended (client gone): replies still queued have nobody to read them; the client sees the stream
            // break and reports those commands' outcome as unknown.
        }
    }
}
