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
        // read, and ends the call normally: the client then knows the unanswered ones never started.
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(callContext.CancellationToken, Transport.Stopping, lifetime.ApplicationStopping);

        // Accepted: the client writes no command before it sees these headers, so a call refused above (or never
        // connected) carries no command whose outcome could be in doubt.
        await callContext.WriteResponseHeadersAsync([]).ConfigureAwait(false);
        var replies = Channel.CreateUnbounded<Proto.StreamedReply>(new UnboundedChannelOptions { SingleReader = true });
        var writing = WriteRepliesAsync(replies.Reader, responseStream, callContext.CancellationToken);
        var outstanding = 0;
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
            // This node is stopping; the call ends normally below.
        }
        finally
        {
            // The client closed its side (or the call broke): answer what is in flight, then end the call.
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
