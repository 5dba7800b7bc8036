using System.IO.Pipelines;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Raft.Core.Messages;
using Raft.Transport.Grpc.Mapping;
using Proto = Raft.Transport.Grpc.Protos;

namespace Raft.Transport.Grpc.Services;

// The receiving side of the transport: peer streams and snapshot transfers, checked and handed to the node's handler.
// Calls end when the transport is disposed or the hosting application stops, so a server stops without waiting for
// its long-lived streams.
internal sealed class RaftPeerService(GrpcRaftTransport transport, IHostApplicationLifetime lifetime) : Proto.RaftPeer.RaftPeerBase
{
    public override async Task Stream(
        IAsyncStreamReader<Proto.MessageBatch> requestStream,
        IServerStreamWriter<Proto.StreamReply> responseStream,
        ServerCallContext context)
    {
        var sender = CallGuard.RequirePeer(transport, context, nameof(Stream));
        var handler = RequireHandler(context, nameof(Stream));
        var cts = transport.RegisterInboundStream(sender, context.CancellationToken, lifetime.ApplicationStopping);
        var token = cts.Token;
        var reason = "the sender closed it";
        try
        {
            await responseStream.WriteAsync(new Proto.StreamReply { AcceptedBy = transport.NodeId }, token).ConfigureAwait(false);
            Log.StreamAccepted(transport.Logger, transport.NodeId, sender, context.Peer);
            var maxEntriesBytes = transport.Options.MaxEntriesBytes;
            while (await requestStream.MoveNext(token).ConfigureAwait(false))
            {
                var batch = requestStream.Current;

                // Checked as a whole first: a batch with one bad message delivers none of them.
                var messages = new Message[batch.Messages.Count];
                for (var i = 0; i < messages.Length; i++)
                {
                    try
                    {
                        messages[i] = MessageMapper.FromProto(batch.Messages[i], sender, transport.NodeId, maxEntriesBytes);
                    }
                    catch (MalformedMessageException ex)
                    {
                        Log.MalformedBatch(transport.Logger, transport.NodeId, sender, ex.Message);
                        throw CallGuard.Reject(transport, context, nameof(Stream), StatusCode.InvalidArgument,
                            $"Node '{transport.NodeId}' refused a malformed message from '{sender}': {ex.Message}.");
                    }
                }

                if (transport.Handler is null)
                {
                    break;
                }

                foreach (var message in messages)
                {
                    handler.Receive(message);
                }

                TransportMetrics.MessagesReceived.Add(messages.Length, transport.NodeTag);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            reason = transport.Stopping.IsCancellationRequested || lifetime.ApplicationStopping.IsCancellationRequested ? "this node is stopping"
                : context.CancellationToken.IsCancellationRequested ? "the call was cancelled"
                : "a newer stream from the same peer replaced it";
        }
        catch (InvalidProtocolBufferException ex)
        {
            Log.MalformedBatch(transport.Logger, transport.NodeId, sender, ex.Message);
            throw CallGuard.Reject(transport, context, nameof(Stream), StatusCode.InvalidArgument,
                $"Node '{transport.NodeId}' refused a malformed batch from '{sender}': it is not a valid protobuf MessageBatch ({ex.Message}).");
        }
        catch (IOException ex)
        {
            reason = ex.Message;
        }
        finally
        {
            transport.UnregisterInboundStream(sender, cts);
            cts.Dispose();
            Log.StreamEnded(transport.Logger, transport.NodeId, sender, reason);
        }
    }

    public override async Task<Proto.SnapshotReply> InstallSnapshot(IAsyncStreamReader<Proto.SnapshotChunk> requestStream, ServerCallContext context)
    {
        var sender = CallGuard.RequirePeer(transport, context, nameof(InstallSnapshot));
        var handler = RequireHandler(context, nameof(InstallSnapshot));
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, transport.Stopping, lifetime.ApplicationStopping);
        var token = cts.Token;
        if (!await requestStream.MoveNext(token).ConfigureAwait(false) || requestStream.Current.Header is null)
        {
            throw CallGuard.Reject(transport, context, nameof(InstallSnapshot), StatusCode.InvalidArgument,
                "A snapshot transfer must start with a chunk that carries the InstallSnapshot message.");
        }

        Message message;
        try
        {
            message = MessageMapper.FromProto(requestStream.Current.Header, sender, transport.NodeId, transport.Options.MaxEntriesBytes);
            if (message.Type != MessageType.InstallSnapshot || message.Snapshot is null)
            {
                throw new MalformedMessageException($"a snapshot transfer must carry an InstallSnapshot message with snapshot metadata, not {message.Type}");
            }
        }
        catch (MalformedMessageException ex)
        {
            throw CallGuard.Reject(transport, context, nameof(InstallSnapshot), StatusCode.InvalidArgument,
                $"Node '{transport.NodeId}' refused a malformed snapshot from '{sender}': {ex.Message}.");
        }

        // The handler reads the data while the chunks arrive; the pipe holds a few chunks at most (back-pressure).
        var chunk = transport.Options.SnapshotChunkBytes;
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 4L * chunk, resumeWriterThreshold: 2L * chunk, useSynchronizationContext: false));
        var receiving = Task.Run(
            async () =>
            {
                try
                {
                    await using var data = pipe.Reader.AsStream();
                    await handler.ReceiveSnapshotAsync(message, data, token).ConfigureAwait(false);
                }
                finally
                {
                    await pipe.Reader.CompleteAsync().ConfigureAwait(false);
                }
            },
            CancellationToken.None);

        long total = 0;
        try
        {
            var data = requestStream.Current.Data;
            while (true)
            {
                if (!data.IsEmpty)
                {
                    total += data.Length;
                    var flushed = await pipe.Writer.WriteAsync(data.Memory, token).ConfigureAwait(false);
                    if (flushed.IsCompleted)
                    {
                        // The handler stopped reading early (it failed); its error is reported below.
                        break;
                    }
                }

                if (!await requestStream.MoveNext(token).ConfigureAwait(false))
                {
                    break;
                }

                if (requestStream.Current.Header is not null)
                {
                    throw CallGuard.Reject(transport, context, nameof(InstallSnapshot), StatusCode.InvalidArgument,
                        "Only the first chunk of a snapshot transfer may carry a message.");
                }

                data = requestStream.Current.Data;
            }

            await pipe.Writer.CompleteAsync().ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The handler sees the transfer break and must leave nothing behind.
            await pipe.Writer.CompleteAsync(new IOException($"The snapshot transfer from '{sender}' broke off after {total} bytes.", ex)).ConfigureAwait(false);
            await Task.WhenAny(receiving).ConfigureAwait(false);
            Log.SnapshotReceiveFailed(transport.Logger, ex, transport.NodeId, sender);
            throw;
        }

        try
        {
            await receiving.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            Log.SnapshotReceiveFailed(transport.Logger, ex, transport.NodeId, sender);
            throw new RpcException(new Status(StatusCode.Internal, $"Node '{transport.NodeId}' could not store the snapshot: {ex.Message}"));
        }

        Log.SnapshotReceived(transport.Logger, transport.NodeId, message.Snapshot!.Index, message.Snapshot.Term, sender, total);
        return new Proto.SnapshotReply { BytesReceived = total };
    }

    private Core.Transport.IRaftMessageHandler RequireHandler(ServerCallContext context, string method) =>
        transport.Handler ?? throw CallGuard.Reject(transport, context, method, StatusCode.Unavailable,
            $"Node '{transport.NodeId}' is not accepting Raft messages (its transport is not started, or stopped); retry later.");
}
