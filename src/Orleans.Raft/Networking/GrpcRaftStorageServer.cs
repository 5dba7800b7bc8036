using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Raft.Core.Runtime;
using Raft.Transport.Grpc;
using Raft.Transport.Grpc.Hosting;

namespace Orleans.Raft.Networking;

/// <summary>
/// One silo's Kestrel endpoint (HTTP/2): the transport's peer service, its client service (for tools), and the
/// forwarding stream that followers send their writes to the leader on.
/// </summary>
/// <remarks>
/// Like the transport's own server: stopping ends the calls being served at once, since the streams are long-lived;
/// dispose the transport first. Does not own the transport or the node.
/// </remarks>
internal sealed class GrpcRaftStorageServer(GrpcRaftTransport transport, GrpcTransportOptions options, RaftNode node, ForwardingServiceContext forwarding, ILoggerFactory loggerFactory)
    : IAsyncDisposable
{
    private WebApplication? _app;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!GrpcRaftStorageNetwork.TryParse(options.ListenAddress, out var host, out var port))
        {
            throw new InvalidOperationException($"The Raft listen address '{options.ListenAddress}' must be host:port.");
        }

        var ip = host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(host, out var parsed) ? parsed
            : throw new InvalidOperationException($"The Raft listen address '{options.ListenAddress}' must name an IP address or localhost to listen on.");

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(GrpcRaftStorageServer).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(2));
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.Http2.InitialConnectionWindowSize = 8 * 1024 * 1024;
            kestrel.Limits.Http2.InitialStreamWindowSize = 4 * 1024 * 1024;
            kestrel.Limits.Http2.KeepAlivePingDelay = options.KeepAlivePingDelay;
            kestrel.Limits.Http2.KeepAlivePingTimeout = options.KeepAlivePingTimeout;
            kestrel.Listen(ip, port, listen =>
            {
                listen.Protocols = HttpProtocols.Http2;
                if (options.Tls is { } tls)
                {
                    listen.UseRaftTls(tls);
                }
            });
        });

        builder.Services.AddRaftGrpcTransport(transport);
        builder.Services.AddRaftGrpcClientService(_ => node);
        builder.Services.AddSingleton(forwarding);
        builder.Services.AddGrpc().AddServiceOptions<ForwardingService>(o =>
        {
            o.MaxReceiveMessageSize = options.MaxMessageBytes;
            o.MaxSendMessageSize = options.MaxMessageBytes;
        });

        var app = builder.Build();
        app.MapRaftGrpcServices();
        app.MapGrpcService<ForwardingService>();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _app, null) is not { } app)
        {
            return;
        }

        using (var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            await app.StopAsync(timeout.Token).ConfigureAwait(false);
        }

        await app.DisposeAsync().ConfigureAwait(false);
    }
}
