using System.Threading.Channels;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Raft.Core.Messages;
using Raft.Transport.Grpc.Mapping;
using Proto = Raft.Transport.Grpc.Protos;

namespace Raft.Transport.Grpc;

public sealed partial class GrpcRaftTransport
{
    // Framing overhead of a batch beyond its messages' own bytes, kept free under MaxMessageBytes.
    private const int BatchSlackBytes = 1024;

    // How long a failed write waits for the stream's observer to learn why the call ended (see RunAsync); only what
    // the failure is reported as depends on it.
    private static readonly TimeSpan ObserverGrace = TimeSpan.FromMilliseconds(200);

    // Everything from this node to one peer: the queue, the sending task and its stream, and the channels.
    private sealed class PeerLink
    {
        private readonly GrpcRaftTransport _owner;
        private readonly Channel<Message> _queue;
        private readonly CancellationTokenSource _closing = new();
        private readonly Lazy<GrpcChannel> _channel;
        private readonly Lazy<GrpcChannel> _snapshotChannel;
        private readonly KeyValuePair<string, object?> _peerTag;
        private readonly Task _sender;
        private Task? _closed;

        // Set between a failure and the end of its backoff: sends are dropped at once rather than queued for a dead peer.
        private volatile bool _down;

        // A message taken from the queue that did not fit the previous batch; the sending task's alone.
        private Proto.RaftMessage? _carry;

        public PeerLink(GrpcRaftTransport owner, string peerId, Uri address)
        {
            _owner = owner;
            PeerId = peerId;
            Address = address;
            _peerTag = new KeyValuePair<string, object?>(TransportMetrics.PeerTag, peerId);
            _queue = System.Threading.Channels.Channel.CreateBounded<Message>(new BoundedChannelOptions(owner.Options.PerPeerQueueCapacity)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
            _channel = new Lazy<GrpcChannel>(() => GrpcChannels.Create(address, owner.Options, owner.Tls));

            // Snapshots get a connection of their own so that a large transfer never delays the message stream.
            _snapshotChannel = new Lazy<GrpcChannel>(() => GrpcChannels.Create(address, owner.Options, owner.Tls));
            _sender = Task.Run(RunAsync);
        }

        public string PeerId { get; }

        public Uri Address { get; }

        public GrpcChannel Channel => _channel.Value;

        public GrpcChannel SnapshotChannel => _snapshotChannel.Value;

        public bool TryEnqueue(Message message) => !_down && _queue.Writer.TryWrite(message);

        public Task CloseAsync()
        {
            lock (_closing)
            {
                return _closed ??= Task.Run(CloseCoreAsync);
            }
        }

        private async Task CloseCoreAsync()
        {
            _queue.Writer.TryComplete();
            await _closing.CancelAsync().ConfigureAwait(false);
            await _sender.ConfigureAwait(false);
            if (_channel.IsValueCreated)
            {
                _channel.Value.Dispose();
            }

            if (_snapshotChannel.IsValueCreated)
            {
                _snapshotChannel.Value.Dispose();
            }
        }

        private async Task RunAsync()
        {
            var options = _owner.Options;
            var token = _closing.Token;
            var backoff = options.ReconnectBackoffMin;
            var connectedBefore = false;
            try
            {
                while (_carry is not null || await _queue.Reader.WaitToReadAsync(token).ConfigureAwait(false))
                {
                    var connected = false;
                    Exception? failure;
                    string? endedByPeer;
                    var stream = new StreamState();
                    using (var callCts = CancellationTokenSource.CreateLinkedTokenSource(token))
                    {
                        try
                        {
                            using var call = new Proto.RaftPeer.RaftPeerClient(Channel).Stream(_owner.Headers, cancellationToken: callCts.Token);
                            var observing = ObserveAsync(call, stream, callCts);
                            await stream.Accepted.Task.WaitAsync(options.ConnectTimeout, token).ConfigureAwait(false);
                            connected = true;
                            backoff = options.ReconnectBackoffMin;
                            if (connectedBefore)
                            {
                                TransportMetrics.Reconnects.Add(1, _owner.NodeTag, _peerTag);
                            }

                            connectedBefore = true;
                            Log.PeerConnected(_owner.Logger, _owner.NodeId, PeerId, Address);
                            try
                            {
                                await PumpAsync(call, stream, callCts.Token).ConfigureAwait(false);
                            }
                            catch (Exception) when (!token.IsCancellationRequested)
                            {
                                // A write can fail first when the peer ends the call (it resets the request stream)
                                // just before the end of its response stream reaches the observer, which then knows
                                // why: give it that moment, while the call is still open, then take what it learned
                                // (not what the call's disposal tells it afterwards).
                                await Task.WhenAny(observing, Task.Delay(ObserverGrace, CancellationToken.None)).ConfigureAwait(false);
                                stream.Settle();
                                throw;
                            }

                            return;
                        }
                        catch (Exception ex) when (!token.IsCancellationRequested)
                        {
                            (failure, endedByPeer) = stream.Settle();
                            failure ??= (ex is TimeoutException
                                ? new TimeoutException($"peer did not accept the stream within {options.ConnectTimeout}", ex)
                                : ex);
                        }

                        _down = true;
                        _owner.Drop(PeerId, Math.Max(1, stream.InFlight + DrainQueue()));
                    }

                    var wait = TimeSpan.FromMilliseconds(backoff.TotalMilliseconds * (0.8 + (Random.Shared.NextDouble() * 0.4)));
                    if (failure is RpcException { StatusCode: StatusCode.PermissionDenied or StatusCode.Unauthenticated } refused)
                    {
                        Log.RefusedByPeer(_owner.Logger, _owner.NodeId, PeerId, Address, $"{refused.StatusCode}: {refused.Status.Detail}");
                    }
                    else if (connected && endedByPeer is { } reason)
                    {
                        // A peer that stops (or replaces the stream) ends it on purpose: not a fault worth a warning.
                        Log.PeerEndedStream(_owner.Logger, _owner.NodeId, PeerId, Address, reason, wait);
                    }
                    else if (connected)
                    {
                        Log.PeerStreamBroken(_owner.Logger, failure, _owner.NodeId, PeerId, Address, wait);
                    }
                    else
                    {
                        Log.PeerConnectFailed(_owner.Logger, _owner.NodeId, PeerId, Address, Describe(failure), wait);
                    }

                    await Task.Delay(wait, token).ConfigureAwait(false);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, options.ReconnectBackoffMax.Ticks));
                    _down = false;
                }
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                // Closed (the write or wait in progress fails with a cancellation of one kind or another): what is
                // still queued is dropped without a report, the node is going away or forgot the peer.
            }
        }

        // Reads the peer's side of the stream: one acceptance, then nothing until the call ends. Its end, for any
        // reason, cancels the writer.
        private static async Task ObserveAsync(AsyncDuplexStreamingCall<Proto.MessageBatch, Proto.StreamReply> call, StreamState stream, CancellationTokenSource callCts)
        {
            Exception? failure = null;
            try
            {
                while (await call.ResponseStream.MoveNext(CancellationToken.None).ConfigureAwait(false))
                {
                    stream.Accepted.TrySetResult();
                }

                const string Ended = "it is stopping, or a newer stream replaced this one";
                failure = new IOException($"the peer ended the stream: {Ended}");
                stream.Report(failure, Ended);
            }
            catch (Exception ex)
            {
                failure = ex;
                stream.Report(ex, IsGracefulClose(ex) ? "its server closed the connection without an error: it is stopping" : null);
            }
            finally
            {
                // Both paths above set it; a failure of Accepted must carry an exception all the same.
                stream.Accepted.TrySetException(failure ?? new IOException("the stream ended"));
                try
                {
                    await callCts.CancelAsync().ConfigureAwait(false);
                }
                catch (ObjectDisposedException)
                {
                    // The sending task has moved on already.
                }
            }
        }

        private async Task PumpAsync(AsyncDuplexStreamingCall<Proto.MessageBatch, Proto.StreamReply> call, StreamState stream, CancellationToken callToken)
        {
            var reader = _queue.Reader;
            while (_carry is not null || await reader.WaitToReadAsync(callToken).ConfigureAwait(false))
            {
                var batch = BuildBatch(reader);
                var count = batch.Messages.Count;
                if (count == 0)
                {
                    continue;
                }

                stream.InFlight = count;
                await call.RequestStream.WriteAsync(batch, callToken).ConfigureAwait(false);
                stream.InFlight = 0;
                TransportMetrics.MessagesSent.Add(count, _owner.NodeTag, _peerTag);
                TransportMetrics.BatchesSent.Add(1, _owner.NodeTag, _peerTag);
            }
        }

        // Takes queued messages, in order, into one batch: at most MaxBatchMessages, closed once past MaxBatchBytes,
        // never more than MaxMessageBytes. A message that can never fit is dropped and logged.
        private Proto.MessageBatch BuildBatch(ChannelReader<Message> reader)
        {
            var options = _owner.Options;
            var limit = options.MaxMessageBytes - BatchSlackBytes;
            var batch = new Proto.MessageBatch();
            long bytes = 0;
            while (batch.Messages.Count < options.MaxBatchMessages && bytes < options.MaxBatchBytes)
            {
                Proto.RaftMessage proto;
                if (_carry is not null)
                {
                    proto = _carry;
                    _carry = null;
                }
                else if (reader.TryRead(out var message))
                {
                    var entriesBytes = MessageMapper.EntriesBytes(message);
                    if (entriesBytes > options.MaxEntriesBytes)
                    {
                        Log.OversizedMessageDropped(_owner.Logger, _owner.NodeId, PeerId, message.Type, entriesBytes, options.MaxEntriesBytes);
                        _owner.DropOversized(PeerId);
                        continue;
                    }

                    proto = MessageMapper.ToProto(message);
                }
                else
                {
                    break;
                }

                var size = proto.CalculateSize();
                var framed = size + 1 + CodedOutputStream.ComputeLengthSize(size);
                if (framed > limit)
                {
                    Log.OversizedMessageDropped(_owner.Logger, _owner.NodeId, PeerId, (MessageType)proto.Type, framed, limit);
                    _owner.DropOversized(PeerId);
                    continue;
                }

                if (bytes + framed > limit)
                {
                    _carry = proto;
                    break;
                }

                batch.Messages.Add(proto);
                bytes += framed;
            }

            return batch;
        }

        private int DrainQueue()
        {
            var count = 0;
            if (_carry is not null)
            {
                _carry = null;
                count++;
            }

            while (_queue.Reader.TryRead(out _))
            {
                count++;
            }

            return count;
        }

        private static string Describe(Exception exception) => exception switch
        {
            RpcException rpc => $"{rpc.StatusCode}: {rpc.Status.Detail}",
            _ => exception.Message,
        };
    }

    // Whether the reading side of a stream failed on an HTTP/2 GOAWAY or stream reset carrying NO_ERROR: a peer whose
    // server shuts down closes its connections so, which can reach a stream before the peer's service has ended it. A
    // crash or a network fault shows up otherwise (a connection reset, a timeout, INTERNAL_ERROR), and is still reported
    // as a warning. Only the reading side is asked: after any response, error or not, the server may reset the request
    // stream with NO_ERROR, which a write then meets.
    internal static bool IsGracefulClose(Exception exception)
    {
        // gRPC keeps the HTTP error as the status's debug exception, not always as the inner exception.
        for (var e = exception; e is not null; e = e.InnerException ?? (e as RpcException)?.Status.DebugException)
        {
            if (e is HttpProtocolException { ErrorCode: 0 })
            {
                return true;
            }
        }

        return false;
    }

    // What the observer of one stream learned, shared with the sending task.
    private sealed class StreamState
    {
        private readonly Lock _gate = new();
        private bool _settled;
        private Exception? _failure;

        // Why the peer ended the stream on purpose (normally, or by closing its connection without an error); null when
        // it did not.
        private string? _endedByPeer;

        public TaskCompletionSource Accepted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        // The observer's account of how the call ended; the first one counts, and none after Settle.
        public void Report(Exception failure, string? endedByPeer)
        {
            lock (_gate)
            {
                if (!_settled && _failure is null)
                {
                    (_failure, _endedByPeer) = (failure, endedByPeer);
                }
            }
        }

        // What the observer reported so far (a failure may be null), and nothing it reports later.
        public (Exception? Failure, string? EndedByPeer) Settle()
        {
            lock (_gate)
            {
                _settled = true;
                return (_failure, _endedByPeer);
            }
        }

        // Messages in the batch being written; lost if the write fails.
        public int InFlight;
    }

    // An oversized message is not a sign of an unreachable peer, so it is counted but not reported.
    private void DropOversized(string to)
    {
        Interlocked.Increment(ref _droppedCount);
        TransportMetrics.MessagesDropped.Add(1, _nodeTag, new KeyValuePair<string, object?>(TransportMetrics.PeerTag, to));
    }
}
