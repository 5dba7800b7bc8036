using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using Raft.Transport.Grpc.Security;

namespace Raft.Transport.Grpc;

// Creates the client side of a connection to one peer: HTTP/2 (h2c on http://, TLS with ALPN on https://), keep-alive
// pings to notice dead peers, and the transport's size limits.
internal static class GrpcChannels
{
    // Larger than the 64 KiB default so that a batch of appends is not held back by HTTP/2 flow control on loopback.
    private const int StreamWindowBytes = 4 * 1024 * 1024;

    public static GrpcChannel Create(Uri address, GrpcTransportOptions options, TlsMaterial? tls) =>
        Create(address, options.MaxMessageBytes, options.ConnectTimeout, options.KeepAlivePingDelay, options.KeepAlivePingTimeout, tls);

    public static GrpcChannel Create(
        Uri address, int maxMessageBytes, TimeSpan connectTimeout, TimeSpan keepAliveDelay, TimeSpan keepAliveTimeout, TlsMaterial? tls)
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = connectTimeout,
            KeepAlivePingDelay = keepAliveDelay,
            KeepAlivePingTimeout = keepAliveTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            InitialHttp2StreamWindowSize = StreamWindowBytes,
        };

        if (tls is not null)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) => tls.ValidateServer(certificate, chain, errors),
                ClientCertificates = new X509CertificateCollection { tls.Certificate },

                // Always offer our certificate, whatever issuers the server lists as acceptable.
                LocalCertificateSelectionCallback = (_, _, _, _, _) => tls.Certificate,
            };
        }

        return GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            DisposeHttpClient = true,
            MaxReceiveMessageSize = maxMessageBytes,
            MaxSendMessageSize = maxMessageBytes,
        });
    }
}
