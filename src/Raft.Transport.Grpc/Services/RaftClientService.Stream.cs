using System.Threading.Channels;
using Grpc.Core;
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
                    var request = new Proto.CommandRequest { Payload = command.Payload };
                    _ = AnswerAsync(command.Id, HandleAsync(request, command.Read, callContext));
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

            await drained.Task.ConfigureAwait(false);
            replies.Writer.TryComplete();
            await writing.ConfigureAwait(false);
        }

        async Task AnswerAsync(long id, Task<Proto.CommandReply> handling)
        {
            Proto.StreamedReply reply;
            try
            {
                reply = new Proto.StreamedReply { Id = id, Reply = await handling.ConfigureAwait(false) };
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
