using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Configuration.Overrides;

namespace Orleans.Raft.Storage;

/// <summary>Creates <see cref="RaftGrainStorage"/> instances from the silo's services (the Orleans provider factory shape).</summary>
public static class RaftGrainStorageFactory
{
    /// <summary>Creates the provider named <paramref name="name"/> with its named <see cref="RaftGrainStorageOptions"/>.</summary>
    /// <param name="services">The silo's services.</param>
    /// <param name="name">The provider's name.</param>
    /// <returns>The provider; it starts its Raft node with the silo.</returns>
    public static RaftGrainStorage Create(IServiceProvider services, string name)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.GetRequiredService<IOptionsMonitor<RaftGrainStorageOptions>>().Get(name);
        return ActivatorUtilities.CreateInstance<RaftGrainStorage>(services, name, options, services.GetProviderClusterOptions(name));
    }
}
