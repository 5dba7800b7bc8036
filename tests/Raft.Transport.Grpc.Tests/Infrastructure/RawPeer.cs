using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Raft.Transport.Grpc.Security;
using Proto = Raft.Transport.Grpc.Protos;

namespace Raft.Transport.Grpc.Tests.Infrastructure;

// Talks to a node's peer service directly, to send what a well-behaved transport never would.
internal sealed class RawPeer(GrpcChannel channel) : IDisposable
{
    private static readonly Method<byte[], byte[]> RawStream = new(
        MethodType.DuplexStreaming,
        "orleansraft.transport.v1.RaftPeer",
        "Stream",
        Marshallers.Create(b => b, b => b),
        Marshallers.Create(b => b, b => b));

    private readonly GrpcChannel _channel = channel;

    public RawPeer(Uri address)
        : this(GrpcChannel.ForAddress(address))
    {
    }

    // Over TLS, presenting `tls`'s certificate.
    public RawPeer(Uri address, GrpcTlsOptions tls)
        : this(GrpcChannels.Create(address, 4 << 20, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(10), TlsMaterial.Load(tls)))
    {
    }

    public static Metadata Headers(string? clusterId, string? senderId)
    {
        var headers = new Metadata();
        if (clusterId is not null)
        {
            headers.Add(CallHeaders.ClusterId, clusterId);
        }

        if (senderId is not null)
        {
            headers.Add(CallHeaders.SenderId, senderId);
        }

        return headers;
    }

    // Opens a stream, writes the batches, and returns the status the node ended the call with.
    public async Task<RpcException> StreamUntilRefusedAsync(Metadata headers, params Proto.MessageBatch[] batches) =>
        await StreamRawUntilRefusedAsync(headers, [.. batches.Select(b => b.ToByteArray())]);

    public async Task<RpcException> StreamRawUntilRefusedAsync(Metadata headers, params byte[][] payloads)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var call = _channel.CreateCallInvoker().AsyncDuplexStreamingCall(RawStream, null, new CallOptions(headers, cancellationToken: cts.Token));
        try
        {
            foreach (var payload in payloads)
            {
                await call.RequestStream.WriteAsync(payload);
            }
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException)
        {
            // The node ended the call while we wrote; the status it ended it with follows on the response stream.
        }

        try
        {
            while (await call.ResponseStream.MoveNext(cts.Token))
            {
            }
        }
        catch (RpcException ex)
        {
            return ex;
        }

        throw new Xunit.Sdk.XunitException("The node accepted the stream; expected it to refuse.");
    }

    public void Dispose() => _channel.Dispose();
}
