using Microsoft.Extensions.DependencyInjection;
using Orleans.Hosting;
using Orleans.Runtime.Placement;

namespace Orleans.Raft.Placement;

// Registers RaftLeaderPlacement with every Raft grain storage, once per silo however many providers there are.
internal static class RaftLeaderPlacementRegistration
{
    public static void TryAdd(IServiceCollection services)
    {
        if (services.Any(d => d.ServiceType == typeof(IPlacementDirector) && d.IsKeyedService && Equals(d.ServiceKey, typeof(RaftLeaderPlacement))))
        {
            return;
        }

        // Transient: each grain type gets its own strategy instance, initialized with that type's storage name.
        services.AddPlacementDirector<RaftLeaderPlacement, RaftLeaderPlacementDirector>(ServiceLifetime.Transient);
    }
}
