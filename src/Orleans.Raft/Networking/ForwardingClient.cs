using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Raft.Core.Membership;
using Raft.Core.Runtime;

namespace Orleans.Raft.Networking;

/// <summary>
/// A follower's end of the forwarding stream to one leader: writes queue up, one sender loop sends everything queued
/// as one frame on one long-lived call, and a receiver loop completes each write from the batched answers.
/// </summary>
/// <remarks>
/// Failure contract (that of <see cref="IRaftStorageConnection.ForwardAsync"/>): a write the stream never carried fails
/// with <see cref="NotLeaderException"/> (certainly not applied); a write sent but unanswered when the stream breaks
/// fails with <see cref="ProposalResultUnknownException"/>. Which of the two is decided under one lock with the sender,
/// so a write is never reported unsent and then sent; nothing is sent before the leader accepted the call (its response
/// headers), so an unreachable or refusing leader fails writes as not applied. A leader that stops says goodbye
/// (<see cref="ForwardingFrames.NewGoodbye"/>): this end then sends nothing more on the call (the writes still queued fail
/// as not applied), closes its side and takes the answers to those it sent, which the leader gives each of them before
/// it ends the call. A broken stream is replaced on the next write. Thread-safe.
/// </remarks>
internal sealed class ForwardingClient : IAsyncDisposable
{
    private readonly string _nodeId;
    private readonly string _leaderId;
    private readonly GrpcChannel _channel;
    private readonly Grpc.Core.Metadata _headers;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private ForwardStream? _stream;
    private bool _disposed;

    public ForwardingClient(string nodeId, string leaderId, Uri address, string clusterId, int maxMessageBytes, ILogger logger)
    {
        _nodeId = nodeId;
        _leaderId = leaderId;
        _logger = logger;
        _headers = new Grpc.Core.Metadata { { ForwardingProtocol.ClusterHeader, clusterId }, { ForwardingProtocol.SenderHeader, nodeId } };
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = maxMessageBytes,
            MaxSendMessageSize = maxMessageBytes,
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                KeepAlivePingDelay = TimeSpan.FromSeconds(20),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
                ConnectTimeout = TimeSpan.FromSeconds(2),
            },
        });
    }

    public Task<ProposalResult> ForwardAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken)
    {
        var pending = new Pending(command);

        // A caller who gave up already is never sent; one who gives up later is skipped (and forgotten) by the sender
        // if the write has not left yet.
        pending.CancelWith(cancellationToken);
        if (pending.Task.IsCompleted)
        {
            return pending.Task;
        }

        lock (_lock)
        {
            if (_disposed)
            {
                pending.Fail(new ObjectDisposedException(nameof(ForwardingClient)));
                return pending.Task;
            }

            if (_stream is not { Broken: false, Leaving: false } stream)
            {
                stream = _stream = new ForwardStream(this);
            }

            stream.Enqueue(pending);
        }

        return pending.Task;
    }

    // One unary call beside the stream, on the same connection.
    public Task<ClusterConfiguration> ChangeMembershipAsync(RaftMembershipRequest request, CancellationToken cancellationToken) =>
        MembershipCall.SendAsync(
            token => _channel.CreateCallInvoker().AsyncUnaryCall(
                ForwardingProtocol.ChangeMembership, null, new CallOptions(_headers, cancellationToken: token), MembershipFrames.EncodeRequest(request)),
            _nodeId, _leaderId, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        ForwardStream? stream;
        lock (_lock)
        {
            _disposed = true;
            stream = _stream;
            _stream = null;
        }

        if (stream is not null)
        {
            await stream.CloseAsync().ConfigureAwait(false);
        }

        _channel.Dispose();
    }

    // One forwarded write and its outcome (the write's own completion source, so a write costs one object and no
    // WaitAsync wrapper). A caller who gives up completes it as canceled: if it was not sent by then it never is; if it
    // was, the caller treats the outcome as unknown.
    private sealed class Pending(ReadOnlyMemory<byte> command) : TaskCompletionSource<ProposalResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public long Id;
        public bool Sent;
        private CancellationTokenRegistration _cancellation;

        public ReadOnlyMemory<byte> Command { get; } = command;

        public void CancelWith(CancellationToken cancellationToken)
        {
            if (cancellationToken.CanBeCanceled)
            {
                _cancellation = cancellationToken.UnsafeRegister(static (state, token) => ((Pending)state!).TrySetCanceled(token), this);
            }
        }

        public void Complete(ForwardReply reply)
        {
            ForwardingCompletion.TrySetResult(this, reply);
            _cancellation.Unregister();
        }

        public void Fail(Exception exception)
        {
            TrySetException(exception);
            _cancellation.Unregister();
        }
    }

    // One call. Its pending writes, the sent flags and Broken are guarded by the owner's lock.
    private sealed class ForwardStream
    {
        private readonly ForwardingClient _owner;
        private readonly Dictionary<long, Pending> _pending = [];
        private readonly Channel<Pending> _outgoing = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
        private readonly CancellationTokenSource _stop = new();
        private readonly TaskCompletionSource _accepted = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly AsyncDuplexStreamingCall<byte[], byte[]> _call;
        private readonly Task _sending;
        private readonly Task _receiving;
        private long _nextId;

        public ForwardStream(ForwardingClient owner)
        {
            _owner = owner;
            _call = owner._channel.CreateCallInvoker().AsyncDuplexStreamingCall(
                ForwardingProtocol.Forward, null, new CallOptions(owner._headers, cancellationToken: _stop.Token));
            _sending = Task.Run(SendAsync);
            _receiving = Task.Run(ReceiveAsync);

            // A broken stream is dropped by its owner without CloseAsync: release the call once both loops ended.
            _ = Task.WhenAll(_sending, _receiving).ContinueWith(_ => _call.Dispose(), TaskScheduler.Default);
        }

        public bool Broken { get; private set; }

        // The leader said goodbye: nothing more is sent on this call, which ends once the leader answered what it read.
        public bool Leaving { get; private set; }

        // Under the owner's lock.
        public void Enqueue(Pending pending)
        {
            pending.Id = ++_nextId;
            _pending.Add(pending.Id, pending);
            _outgoing.Writer.TryWrite(pending);
        }

        public async Task CloseAsync()
        {
            Break(new ObjectDisposedException(nameof(ForwardingClient), "The forwarding connection is closing."));
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await Task.WhenAll(_sending, _receiving).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Ending the call is the point; how its loops ended does not matter any more.
            }

            _call.Dispose();
        }

        private async Task SendAsync()
        {
            var batch = new List<Pending>();
            var requests = new List<ForwardRequest>();
            try
            {
                // The leader's first (empty) frame says it accepted the call: until then nothing is sent, so a
                // connection refused or a call rejected (wrong group, unknown sender) leaves every write unsent.
                await _accepted.Task.WaitAsync(_stop.Token).ConfigureAwait(false);
                while (await _outgoing.Reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
                {
                    var bytes = 0;
                    while (bytes < ForwardingProtocol.MaxFrameBytes && _outgoing.Reader.TryRead(out var pending))
                    {
                        batch.Add(pending);
                        bytes += ForwardingFrames.RequestHeaderBytes + pending.Command.Length;
                    }

                    List<Pending>? notSent = null;
                    lock (_owner._lock)
                    {
                        if (Broken)
                        {
                            return;
                        }

                        foreach (var pending in batch)
                        {
                            if (pending.Task.IsCompleted)
                            {
                                // Its caller gave up before it left: it is not sent and nothing will answer it.
                                _pending.Remove(pending.Id);
                            }
                            else if (Leaving)
                            {
                                _pending.Remove(pending.Id);
                                (notSent ??= []).Add(pending);
                            }
                            else
                            {
                                pending.Sent = true;
                                requests.Add(new ForwardRequest(pending.Id, pending.Command));
                            }
                        }
                    }

                    foreach (var pending in notSent ?? [])
                    {
                        pending.Fail(new NotLeaderException(
                            $"The leader '{_owner._leaderId}' is stopping; node '{_owner._nodeId}' did not send it the write, which was not applied."));
                    }

                    if (requests.Count > 0)
                    {
                        await _call.RequestStream.WriteAsync(ForwardingFrames.EncodeRequests(requests), _stop.Token).ConfigureAwait(false);
                    }

                    batch.Clear();
                    requests.Clear();
                }

                // Only a goodbye completes the queue while the call runs: close this side, so that the leader ends the
                // call once it answered everything it read.
                await _call.RequestStream.CompleteAsync().ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                Break(ex);
            }
        }

        private async Task ReceiveAsync()
        {
            try
            {
                await foreach (var frame in _call.ResponseStream.ReadAllAsync(_stop.Token).ConfigureAwait(false))
                {
                    _accepted.TrySetResult();
                    if (ForwardingFrames.IsGoodbye(frame))
                    {
                        Leave();
                        continue;
                    }

                    foreach (var reply in ForwardingFrames.DecodeReplies(frame))
                    {
                        Pending? pending;
                        lock (_owner._lock)
                        {
                            _pending.Remove(reply.Id, out pending);
                        }

                        pending?.Complete(reply);
                    }
                }

                Break(new IOException($"The Raft node '{_owner._leaderId}' ended the forwarding stream."));
            }
            catch (Exception ex)
            {
                Break(ex);
            }
        }

        // The leader stops: it proposes nothing it reads from now on, and answers every write it reads. New writes go to
        // a new call; the sender fails the queued ones as not sent, then closes this side; the answers to the sent ones
        // still come, and the call then ends.
        private void Leave()
        {
            int unanswered;
            lock (_owner._lock)
            {
                if (Broken || Leaving)
                {
                    return;
                }

                Leaving = true;
                unanswered = _pending.Count;
                _outgoing.Writer.TryComplete();
            }

            Log.ForwardingLeaderSaidGoodbye(_owner._logger, _owner._nodeId, _owner._leaderId, unanswered);
        }

        // Fails every write still waiting: unsent ones as certainly not applied, sent ones as unknown.
        private void Break(Exception reason)
        {
            List<Pending> failed;
            lock (_owner._lock)
            {
                if (Broken)
                {
                    return;
                }

                Broken = true;
                _accepted.TrySetException(reason);
                failed = [.. _pending.Values];
                _pending.Clear();
                _outgoing.Writer.TryComplete();
            }

            var unsent = failed.Count(p => !p.Sent);
            if (failed.Count > 0)
            {
                Log.ForwardingStreamLost(_owner._logger, _owner._nodeId, _owner._leaderId, unsent, failed.Count - unsent, reason.Message);
            }

            foreach (var pending in failed)
            {
                pending.Fail(pending.Sent
                    ? new ProposalResultUnknownException(
                        $"The forwarding stream from node '{_owner._nodeId}' to the leader '{_owner._leaderId}' broke before the write was answered; it may or may not be applied: {reason.Message}",
                        reason)
                    : new NotLeaderException(
                        $"Node '{_owner._nodeId}' could not send the write to the leader '{_owner._leaderId}'; it was not applied: {reason.Message}",
                        reason));
            }

            _ = _stop.CancelAsync();
        }
    }
}

// Completing a pending write from its reply.
internal static class ForwardingCompletion
{
    public static void TrySetResult(this TaskCompletionSource<ProposalResult> completion, ForwardReply reply)
    {
        switch (reply.Outcome)
        {
            case ForwardOutcome.Applied:
                completion.TrySetResult(new ProposalResult(reply.Index, reply.Payload));
                break;
            case ForwardOutcome.NotLeader:
                completion.TrySetException(new NotLeaderException(reply.Detail));
                break;
            case ForwardOutcome.Dropped:
                completion.TrySetException(new ProposalDroppedException(reply.Detail));
                break;
            case ForwardOutcome.Superseded:
                completion.TrySetException(new ProposalSupersededException(reply.Detail));
                break;
            default:
                completion.TrySetException(new ProposalResultUnknownException($"The leader could not tell the outcome of the forwarded write: {reply.Detail}"));
                break;
        }
    }
}
