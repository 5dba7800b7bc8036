using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Raft.Transport.Grpc.Services;

namespace Raft.Transport.Grpc.Hosting;

/// <summary>Maps the Raft gRPC services registered by <see cref="RaftGrpcServiceCollectionExtensions"/>.</summary>
public static class RaftGrpcEndpointRouteBuilderExtensions
{
    /// <summary>Maps the peer service, and the client service when it was registered.</summary>
    /// <param name="endpoints">The application's endpoints.</param>
    /// <returns><paramref name="endpoints"/>.</returns>
    /// <exception cref="InvalidOperationException">The transport was not registered.</exception>
    public static IEndpointRouteBuilder MapRaftGrpcServices(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (endpoints.ServiceProvider.GetService<GrpcRaftTransport>() is null)
        {
            throw new InvalidOperationException("No GrpcRaftTransport is registered; call services.AddRaftGrpcTransport(...) first.");
        }

        endpoints.MapGrpcService<RaftPeerService>();
        if (endpoints.ServiceProvider.GetService<RaftClientServiceContext>() is not null)
        {
            endpoints.MapGrpcService<RaftClientService>();
        }

        return endpoints;
    }
}
