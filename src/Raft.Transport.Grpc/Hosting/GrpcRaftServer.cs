using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Raft.Core.Runtime;
using Raft.Transport.Grpc.Services;

namespace Raft.Transport.Grpc.Hosting;

/// <summary>
/// A standalone Kestrel server for one node: it listens on <see cref="GrpcTransportOptions.ListenAddress"/> with HTTP/2
/// (TLS when <see cref="GrpcTransportOptions.Tls"/> is set) and serves the transport's peer service and, when a node
/// is given, the client-facing service.
/// </summary>
/// <remarks>
/// Order of a node's start: create the transport, the <see cref="RaftNode"/> on it, this server, start the server,
/// then the node. Peer calls that arrive before the node has started its transport are refused as unavailable, and
/// the peers retry. Stopping ends the calls being served at once (the transport's streams are long-lived, so a
/// graceful drain would only wait); dispose the transport first so that its own streams end cleanly.
/// Ownership: the server does not dispose the transport or the node.
/// </remarks>
public sealed class GrpcRaftServer : IAsyncDisposable
{
    private readonly GrpcRaftTransport _transport;
    private readonly RaftNode? _node;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly IRaftQueryHandler? _queryHandler;
    private readonly ILogger _logger;
    private WebApplication? _app;

    /// <summary>Creates a server for <paramref name="transport"/>; it listens once started.</summary>
    /// <param name="transport">The transport whose peer service this server hosts.</param>
    /// <param name="node">The node whose client service this server hosts; none when null.</param>
    /// <param name="loggerFactory">Where the server's and ASP.NET Core's logs go; none when null.</param>
    /// <param name="queryHandler">Answers linearizable reads from the local state machine (read index); when null, reads go through the log.</param>
    public GrpcRaftServer(GrpcRaftTransport transport, RaftNode? node = null, ILoggerFactory? loggerFactory = null, IRaftQueryHandler? queryHandler = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        _transport = transport;
        _node = node;
        _loggerFactory = loggerFactory;
        _queryHandler = queryHandler;
        _logger = transport.LoggerFactory.CreateLogger<GrpcRaftServer>();
    }

    // The client service's context once started (tests tune it).
    internal RaftClientServiceContext? ClientContext { get; private set; }

    /// <summary>The address the server listens on, with the actual port; null until started.</summary>
    public Uri? Address { get; private set; }

    /// <summary>Starts listening.</summary>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>A task that completes once the server listens.</returns>
    /// <exception cref="InvalidOperationException">The server was already started.</exception>
    /// <exception cref="IOException">The address is in use.</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_app is not null)
        {
            throw new InvalidOperationException($"The Raft gRPC server of node '{_transport.NodeId}' was already started.");
        }

        var options = _transport.Options;
        GrpcTransportOptions.TryParseHostPort(options.ListenAddress, out var host, out var port);
        var ip = host == "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(host, out var parsed) ? parsed
            : throw new InvalidOperationException($"GrpcTransportOptions.ListenAddress '{options.ListenAddress}' must name an IP address or localhost to listen on.");

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ApplicationName = typeof(GrpcRaftServer).Assembly.GetName().Name });
        builder.Logging.ClearProviders();
        if (_loggerFactory is not null)
        {
            builder.Services.AddSingleton(_loggerFactory);
        }

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
                if (_transport.Tls is { } tls)
                {
                    listen.UseRaftTls(tls);
                }
            });
        });

        builder.Services.AddRaftGrpcTransport(_transport);
        var clientContext = new RaftClientServiceContext(_transport, () => _node, _queryHandler);
        ClientContext = clientContext;
        if (_node is not null)
        {
            builder.Services.AddSingleton(clientContext);
        }

        var app = builder.Build();
        app.MapRaftGrpcServices();
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        _app = app;

        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        Address = bound is null ? null : new Uri(bound);
        clientContext.OwnAddress = Address;
        Log.ServerStarted(_logger, _transport.NodeId, Address ?? new Uri($"http://{options.ListenAddress}"));
    }

    /// <summary>Stops listening and ends the calls being served.</summary>
    /// <returns>A task that completes once the server has stopped.</returns>
    public async Task StopAsync()
    {
        var app = Interlocked.Exchange(ref _app, null);
        if (app is null)
        {
            return;
        }

        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            await app.StopAsync(cts.Token).ConfigureAwait(false);
        }

        await app.DisposeAsync().ConfigureAwait(false);
        Log.ServerStopped(_logger, _transport.NodeId);
    }

    /// <summary>Stops the server, as <see cref="StopAsync"/>.</summary>
    /// <returns>A task that completes once the server has stopped.</returns>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);
}
