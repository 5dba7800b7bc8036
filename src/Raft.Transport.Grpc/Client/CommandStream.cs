using System.Collections.Concurrent;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Proto = Raft.Transport.Grpc.Protos;

namespace Raft.Transport.Grpc.Client;

// One long-lived streamed call to one node, shared by every concurrent command of a client: commands queue, one task
// writes whatever is queued as one frame, another matches the replies to the waiting commands by id. A broken call
// fails every command it carried (sent: outcome unknown; never written: not applied) and is replaced on next use. A
// stopping node says goodbye before it ends the call: the commands it had not answered then never started.
internal sealed class CommandStream
{
    // Commands written in one frame at most; frames also keep under a soft byte cap (half the message limit).
    private const int MaxCommandsPerFrame = 4096;

    // A command's bytes in a frame besides its payload, rounded up (field tags, lengths, id, read flag).
    private const int FramingBytes = 32;

    // Not single-reader: besides the writer, whoever stops the stream drains what is still queued.
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = false });
    private readonly ConcurrentDictionary<long, Pending> _inFlight = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly int _maxMessageBytes;
    private readonly int _maxFrameBytes;
    private readonly int _maxCommandBytes;
    private long _nextId;
    private volatile Exception? _failure;
    private volatile bool _stopped;

    public CommandStream(GrpcChannel channel, Metadata headers, int maxMessageBytes)
    {
        _maxMessageBytes = maxMessageBytes;
        _maxFrameBytes = Math.Max(1024, maxMessageBytes / 2);
        _maxCommandBytes = maxMessageBytes - FramingBytes;
        var call = new Proto.RaftClient.RaftClientClient(channel).Stream(headers, cancellationToken: _closing.Token);
        _ = RunAsync(call);
    }

    // True once the call broke or stopped taking commands: the owner replaces this stream.
    public bool IsBroken => _stopped;

    /// <summary>Sends one command; completes with the node's reply, or throws the RpcException the unary call would have.</summary>
    /// <exception cref="CommandNotSentException">The call broke before the command was written: it was certainly not applied.</exception>
    public async Task<Proto.CommandReply> SendAsync(ByteString payload, bool read, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (payload.Length > _maxCommandBytes)
        {
            // Refused here rather than by the channel's send limit, which would fail the write of a whole frame.
            throw new CommandNotSentException(new RpcException(new Status(
                StatusCode.ResourceExhausted,
                $"The command is {payload.Length} bytes; with MaxMessageBytes = {_maxMessageBytes} a command can be at most {_maxCommandBytes} bytes.")));
        }

        var pending = new Pending(Interlocked.Increment(ref _nextId), payload, read);
        if (_stopped || !_queue.Writer.TryWrite(pending))
        {
            throw new CommandNotSentException(AsRpc(_failure ?? new IOException("The command stream takes no more commands.")));
        }

        try
        {
            var reply = await pending.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            if (reply.StatusCode == 0)
            {
                return reply.Reply ?? throw new RpcException(new Status(StatusCode.Internal, "The node sent an empty reply."));
            }

            var refused = new RpcException(new Status((StatusCode)reply.StatusCode, reply.StatusDetail));
            throw reply.NotApplied ? new CommandNotSentException(refused) : refused;
        }
        catch (TimeoutException)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"No reply within {timeout}."));
        }
        finally
        {
            _inFlight.TryRemove(pending.Id, out _);
        }
    }

    public void Close()
    {
        Fail(new RpcException(new Status(StatusCode.Cancelled, "The client was disposed.")));
        _closing.Cancel();
    }

    private async Task RunAsync(AsyncDuplexStreamingCall<Proto.StreamedCommandBatch, Proto.StreamedReplyBatch> call)
    {
        using (call)
        {
            try
            {
                // Nothing is written before the node accepted the call, so a refused or failed connection leaves every
                // queued command certainly not sent.
                await call.ResponseHeadersAsync.ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Fail(ex, unansweredNotStarted: true);
                return;
            }

            var reading = ReadAsync(call.ResponseStream);
            try
            {
                // Returns once the stream takes no more commands: the node said goodbye, the call broke, or Close.
                await WriteAsync(call.RequestStream).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // Whether the commands written (and the one whose write failed) were read is for the reader to tell: the
                // write fails the same way when the node ended the call normally (it answered what it read, the rest
                // never started) as when the connection broke (outcome unknown). Take no new command.
                StopTakingCommands(ex);
            }

            try
            {
                // Close our side: a node that said goodbye waits for it before it ends the call, and a node still
                // reading then answers what it read and ends the call.
                await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception)
            {
                // The call is gone already: the reader sees how it ended.
            }

            await reading.ConfigureAwait(false);
        }
    }

    private async Task WriteAsync(IClientStreamWriter<Proto.StreamedCommandBatch> requests)
    {
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var batch = new Proto.StreamedCommandBatch();
            var bytes = 0;
            // A command joins the frame only while the frame stays under the soft cap (a command alone may exceed it, up
            // to the message limit), so that no frame is refused by either side's limit.
            while (batch.Commands.Count < MaxCommandsPerFrame
                   && reader.TryPeek(out var next)
                   && (batch.Commands.Count == 0 || bytes + next.Payload.Length + FramingBytes <= _maxFrameBytes)
                   && reader.TryRead(out var pending))
            {
                // Registered before the write, so that a reply can never arrive for an id nobody waits for.
                _inFlight[pending.Id] = pending;
                batch.Commands.Add(new Proto.StreamedCommand { Id = pending.Id, Payload = pending.Payload, Read = pending.Read });
                bytes += pending.Payload.Length + FramingBytes;
            }

            if (_failure is { } failure)
            {
                // Broke while this frame was gathered: none of it was written.
                foreach (var command in batch.Commands)
                {
                    if (_inFlight.TryRemove(command.Id, out var unsent))
                    {
                        unsent.TrySetException(new CommandNotSentException(AsRpc(failure)));
                    }
                }

                return;
            }

            await requests.WriteAsync(batch).ConfigureAwait(false);
        }
    }

    private async Task ReadAsync(IAsyncStreamReader<Proto.StreamedReplyBatch> replies)
    {
        try
        {
            while (await replies.MoveNext(CancellationToken.None).ConfigureAwait(false))
            {
                foreach (var reply in replies.Current.Replies)
                {
                    if (_inFlight.TryRemove(reply.Id, out var pending))
                    {
                        pending.TrySetResult(reply);
                    }
                }

                if (replies.Current.Stopping)
                {
                    // Every command the node read was answered in this or earlier batches: the rest never started.
                    // Reading goes on to the call's end, which comes once the writer has closed our side.
                    Fail(new RpcException(new Status(StatusCode.Unavailable, "The node is stopping; it took no more commands on this stream.")), unansweredNotStarted: true);
                }
            }

            // A normal end: the node answered every command it read, so those still waiting never started.
            Fail(new RpcException(new Status(StatusCode.Unavailable, "The node ended the command stream (it is stopping).")), unansweredNotStarted: true);
        }
        catch (Exception ex)
        {
            Fail(ex);
        }
    }

    // Commands already written may have been applied; those still queued were never sent.
    private void Fail(Exception exception, bool unansweredNotStarted = false)
    {
        // Broken before any of its commands fails, so that a caller that sees one fail finds the stream replaced.
        _stopped = true;
        if (Interlocked.CompareExchange(ref _failure, exception, null) is not null)
        {
            return;
        }

        var rpc = AsRpc(exception);
        foreach (var pending in _inFlight.Values)
        {
            pending.TrySetException(unansweredNotStarted ? new CommandNotSentException(rpc) : rpc);
        }

        StopTakingCommands(exception);
    }

    // The call takes no more commands: those still queued were never sent. The owner replaces this stream.
    private void StopTakingCommands(Exception exception)
    {
        _stopped = true;
        _queue.Writer.TryComplete();
        var rpc = AsRpc(exception);
        while (_queue.Reader.TryRead(out var queued))
        {
            queued.TrySetException(new CommandNotSentException(rpc));
        }
    }

    private static RpcException AsRpc(Exception exception) =>
        exception as RpcException ?? new RpcException(new Status(StatusCode.Unavailable, exception.Message, exception));

    private sealed class Pending(long id, ByteString payload, bool read) : TaskCompletionSource<Proto.StreamedReply>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public long Id { get; } = id;

        public ByteString Payload { get; } = payload;

        public bool Read { get; } = read;
    }
}

// A command that never left the client: it was certainly not applied, so it may be retried anywhere.
internal sealed class CommandNotSentException(RpcException inner) : Exception(inner.Status.Detail, inner)
{
    public RpcException Rpc => inner;
}
