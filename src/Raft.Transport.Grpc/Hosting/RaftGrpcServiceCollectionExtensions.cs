using Grpc.AspNetCore.Server;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Raft.Core.Runtime;
using Raft.Core.Transport;
using Raft.Transport.Grpc.Services;

namespace Raft.Transport.Grpc.Hosting;

/// <summary>Registers the Raft gRPC transport and services in an ASP.NET Core application; map them with <see cref="RaftGrpcEndpointRouteBuilderExtensions.MapRaftGrpcServices"/>.</summary>
/// <remarks>
/// The application's Kestrel must serve HTTP/2 where the peers reach this node (for TLS between nodes, see
/// <see cref="RaftKestrelExtensions.UseRaftTls(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions, Security.GrpcTlsOptions)"/>). The transport is a singleton, also registered as <see cref="IRaftTransport"/>.
/// </remarks>
public static class RaftGrpcServiceCollectionExtensions
{
    /// <summary>Registers a <see cref="GrpcRaftTransport"/> built from <paramref name="configure"/> and the peer service that receives its peers' calls.</summary>
    /// <param name="services">The application's services.</param>
    /// <param name="configure">Sets the transport options; they are validated here.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <exception cref="ArgumentException">The options are inconsistent; the message names the setting.</exception>
    public static IServiceCollection AddRaftGrpcTransport(this IServiceCollection services, Action<GrpcTransportOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new GrpcTransportOptions();
        configure(options);
        options.Validate();
        services.TryAddSingleton(sp => new GrpcRaftTransport(options, sp.GetService<ILoggerFactory>()));
        return AddCore(services, options.MaxMessageBytes);
    }

    /// <summary>Registers an existing <paramref name="transport"/> and the peer service that receives its peers' calls.</summary>
    /// <param name="services">The application's services.</param>
    /// <param name="transport">The transport; the caller keeps ownership and disposes it.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddRaftGrpcTransport(this IServiceCollection services, GrpcRaftTransport transport)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(transport);
        services.TryAddSingleton(transport);
        return AddCore(services, transport.Options.MaxMessageBytes);
    }

    /// <summary>
    /// Registers the client-facing service (propose, linearizable read, status) for the node that
    /// <paramref name="node"/> returns; while it returns null, calls are refused as unavailable. Reads use the
    /// <see cref="IRaftQueryHandler"/> registered in the container, if any (read index), or else go through the log.
    /// </summary>
    /// <param name="services">The application's services; <see cref="AddRaftGrpcTransport(IServiceCollection, Action{GrpcTransportOptions})"/> must be called too.</param>
    /// <param name="node">Finds the node that serves the calls, each time one arrives.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddRaftGrpcClientService(this IServiceCollection services, Func<IServiceProvider, RaftNode?> node)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(node);
        services.TryAddSingleton(sp => new RaftClientServiceContext(
            sp.GetRequiredService<GrpcRaftTransport>(), () => node(sp), sp.GetService<IRaftQueryHandler>()));
        return services;
    }

    private static IServiceCollection AddCore(IServiceCollection services, int maxMessageBytes)
    {
        services.TryAddSingleton<IRaftTransport>(sp => sp.GetRequiredService<GrpcRaftTransport>());
        services.AddGrpc()
            .AddServiceOptions<RaftPeerService>(o => Limit(o, maxMessageBytes))
            .AddServiceOptions<RaftClientService>(o => Limit(o, maxMessageBytes));
        return services;
    }

    private static void Limit(GrpcServiceOptions options, int maxMessageBytes)
    {
        options.MaxReceiveMessageSize = maxMessageBytes;
        options.MaxSendMessageSize = maxMessageBytes;
    }
}
