using System.Collections.Concurrent;
using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Proto = Raft.Transport.Grpc.Protos;

namespace Raft.Transport.Grpc.Client;

// One long-lived streamed call to one node, shared by every concurrent command of a client: commands queue, one task
// writes whatever is queued as one frame, another matches the replies to the waiting commands by id. A broken call
// fails every command it carried (sent: outcome unknown; never written: not applied) and is replaced on next use.
internal sealed class CommandStream
{
    // Commands written in one frame at most, and a soft byte cap so a frame stays well under the message limit.
    private const int MaxCommandsPerFrame = 4096;

    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<long, Pending> _inFlight = new();
    private readonly CancellationTokenSource _closing = new();
    private readonly int _maxFrameBytes;
    private long _nextId;
    private volatile Exception? _failure;

    public CommandStream(GrpcChannel channel, Metadata headers, int maxMessageBytes)
    {
        _maxFrameBytes = Math.Max(1024, maxMessageBytes / 2);
        var call = new Proto.RaftClient.RaftClientClient(channel).Stream(headers, cancellationToken: _closing.Token);
        _ = RunAsync(call);
    }

    // True once the call broke: the owner replaces this stream.
    public bool IsBroken => _failure is not null;

    /// <summary>Sends one command; completes with the node's reply, or throws the RpcException the unary call would have.</summary>
    /// <exception cref="CommandNotSentException">The call broke before the command was written: it was certainly not applied.</exception>
    public async Task<Proto.CommandReply> SendAsync(ByteString payload, bool read, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var pending = new Pending(Interlocked.Increment(ref _nextId), payload, read);
        if (_failure is not null || !_queue.Writer.TryWrite(pending))
        {
            throw new CommandNotSentException(AsRpc(_failure ?? new IOException("The command stream is closed.")));
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
                await WriteAsync(call.RequestStream).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Fail(ex);
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
            while (batch.Commands.Count < MaxCommandsPerFrame && bytes < _maxFrameBytes && reader.TryRead(out var pending))
            {
                // Registered before the write, so that a reply can never arrive for an id nobody waits for.
                _inFlight[pending.Id] = pending;
                batch.Commands.Add(new Proto.StreamedCommand { Id = pending.Id, Payload = pending.Payload, Read = pending.Read });
                bytes += pending.Payload.Length + 16;
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
        if (Interlocked.CompareExchange(ref _failure, exception, null) is not null)
        {
            return;
        }

        _queue.Writer.TryComplete();
        var rpc = AsRpc(exception);
        foreach (var pending in _inFlight.Values)
        {
            pending.TrySetException(unansweredNotStarted ? new CommandNotSentException(rpc) : rpc);
        }

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
