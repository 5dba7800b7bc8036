using System.Buffers;
using Google.Protobuf;
using Grpc.Core;
using Raft.Core.Messages;
using Raft.Transport.Grpc.Mapping;
using Proto = Raft.Transport.Grpc.Protos;

namespace Raft.Transport.Grpc;

public sealed partial class GrpcRaftTransport
{
    /// <inheritdoc />
    /// <remarks>
    /// One client-streaming call on a connection of its own: the first chunk carries the message, the data follows in
    /// chunks of <see cref="GrpcTransportOptions.SnapshotChunkBytes"/> as it is read, and the call ends when the
    /// receiver has stored it. A failure reports the peer unreachable when it could not be reached, and throws.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="message"/> is not an InstallSnapshot message with snapshot metadata.</exception>
    /// <exception cref="IOException">The peer is unknown or unreachable, or refused or failed the transfer.</exception>
    /// <exception cref="ObjectDisposedException">The transport was disposed.</exception>
    public async Task SendSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(data);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (message.Type != MessageType.InstallSnapshot || message.Snapshot is null)
        {
            throw new ArgumentException($"SendSnapshotAsync needs an InstallSnapshot message with snapshot metadata, not {message.Type}.", nameof(message));
        }

        if (!_links.TryGetValue(message.To, out var link))
        {
            Drop(message.To, 1);
            throw new IOException($"Node '{message.To}' is not a peer of '{NodeId}'; the snapshot was not sent.");
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposing.Token);
        var chunkSize = Options.SnapshotChunkBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(chunkSize);
        long total = 0;
        var chunks = 0;
        try
        {
            using var call = new Proto.RaftPeer.RaftPeerClient(link.SnapshotChannel).InstallSnapshot(Headers, cancellationToken: cts.Token);

            // Only a failure of the call itself is explained by the receiver's status; a failure to read our own data
            // leaves the call unfinished, so it is not waited for: disposing the call cancels it, and the receiver
            // drops what it got.
            var calling = false;
            try
            {
                var first = true;
                while (true)
                {
                    calling = false;
                    var read = await ReadFullAsync(data, buffer.AsMemory(0, chunkSize), cts.Token).ConfigureAwait(false);
                    calling = true;
                    if (read == 0 && !first)
                    {
                        break;
                    }

                    var chunk = new Proto.SnapshotChunk { Data = ByteString.CopyFrom(buffer, 0, read) };
                    if (first)
                    {
                        chunk.Header = MessageMapper.ToProto(message);
                        first = false;
                    }

                    await call.RequestStream.WriteAsync(chunk, cts.Token).ConfigureAwait(false);
                    total += read;
                    chunks++;
                    if (read < chunkSize)
                    {
                        break;
                    }
                }

                await call.RequestStream.CompleteAsync().ConfigureAwait(false);
                await call.ResponseAsync.ConfigureAwait(false);
            }
            catch (Exception ex) when (calling && ex is not RpcException && !cts.IsCancellationRequested)
            {
                // A write fails once the receiver has ended the call; its status says why.
                await call.ResponseAsync.ConfigureAwait(false);
                throw;
            }

            Log.SnapshotSent(Logger, NodeId, message.Snapshot.Index, message.Snapshot.Term, message.To, total, chunks);
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            Log.SnapshotSendFailed(Logger, ex, NodeId, message.To);
            if (ex.StatusCode == StatusCode.Unavailable)
            {
                Drop(message.To, 1);
            }

            throw new IOException($"Sending the snapshot to '{message.To}' failed after {total} bytes: {ex.StatusCode}: {ex.Status.Detail}", ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // Fills `buffer` unless the stream ends first, so chunks are full-sized and a short one marks the end.
    private static async ValueTask<int> ReadFullAsync(Stream data, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var filled = 0;
        while (filled < buffer.Length)
        {
            var read = await data.ReadAsync(buffer[filled..], cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                break;
            }

            filled += read;
        }

        return filled;
    }
}
