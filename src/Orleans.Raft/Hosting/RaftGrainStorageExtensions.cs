using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Providers;
using Orleans.Raft.Placement;
using Orleans.Raft.Storage;
using Orleans.Runtime;
using Orleans.Runtime.Hosting;
using Orleans.Storage;

namespace Orleans.Hosting;

/// <summary>Registers the Raft-replicated grain storage on a silo.</summary>
public static class RaftGrainStorageExtensions
{
    /// <summary>Adds a Raft grain storage provider named <paramref name="name"/>.</summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="name">The provider's name, as <c>[PersistentState("state", name)]</c> refers to it.</param>
    /// <param name="configure">Sets the options (<see cref="RaftGrainStorageOptions.DataDirectory"/>,
    /// <see cref="RaftGrainStorageOptions.Members"/>, <see cref="RaftGrainStorageOptions.Network"/>, ...).</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder AddRaftGrainStorage(this ISiloBuilder builder, string name, Action<RaftGrainStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return builder.AddRaftGrainStorage(name, ob => ob.Configure(configure));
    }

    /// <summary>Adds a Raft grain storage provider named <paramref name="name"/>, configured through an options builder.</summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="name">The provider's name.</param>
    /// <param name="configureOptions">Configures the options (binding to configuration, validation, ...).</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder AddRaftGrainStorage(
        this ISiloBuilder builder, string name, Action<OptionsBuilder<RaftGrainStorageOptions>>? configureOptions = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddRaftGrainStorage(name, configureOptions);
        return builder;
    }

    /// <summary>Adds a Raft grain storage provider as the default one (used by <c>[PersistentState("state")]</c>).</summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder AddRaftGrainStorageAsDefault(this ISiloBuilder builder, Action<RaftGrainStorageOptions> configure) =>
        builder.AddRaftGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configure);

    /// <summary>Adds a Raft grain storage provider as the default one, configured through an options builder.</summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="configureOptions">Configures the options.</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder AddRaftGrainStorageAsDefault(
        this ISiloBuilder builder, Action<OptionsBuilder<RaftGrainStorageOptions>>? configureOptions = null) =>
        builder.AddRaftGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configureOptions);

    /// <summary>Adds a Raft grain storage provider as the default one.</summary>
    /// <param name="services">The silo's services.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddRaftGrainStorageAsDefault(this IServiceCollection services, Action<RaftGrainStorageOptions> configure) =>
        services.AddRaftGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configure);

    /// <summary>Adds a Raft grain storage provider as the default one, configured through an options builder.</summary>
    /// <param name="services">The silo's services.</param>
    /// <param name="configureOptions">Configures the options.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddRaftGrainStorageAsDefault(
        this IServiceCollection services, Action<OptionsBuilder<RaftGrainStorageOptions>>? configureOptions = null) =>
        services.AddRaftGrainStorage(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configureOptions);

    /// <summary>Adds a Raft grain storage provider named <paramref name="name"/>.</summary>
    /// <param name="services">The silo's services.</param>
    /// <param name="name">The provider's name.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddRaftGrainStorage(this IServiceCollection services, string name, Action<RaftGrainStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddRaftGrainStorage(name, ob => ob.Configure(configure));
    }

    /// <summary>
    /// Adds a Raft grain storage provider named <paramref name="name"/>, configured through an options builder, and
    /// registers <see cref="RaftLeaderPlacement"/> (opt-in per grain class with <see cref="RaftLeaderPlacementAttribute"/>).
    /// </summary>
    /// <param name="services">The silo's services.</param>
    /// <param name="name">The provider's name.</param>
    /// <param name="configureOptions">Configures the options.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddRaftGrainStorage(
        this IServiceCollection services, string name, Action<OptionsBuilder<RaftGrainStorageOptions>>? configureOptions = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        configureOptions?.Invoke(services.AddOptions<RaftGrainStorageOptions>(name));
        services.AddTransient<IPostConfigureOptions<RaftGrainStorageOptions>, DefaultStorageProviderSerializerOptionsConfigurator<RaftGrainStorageOptions>>();
        services.ConfigureNamedOptionForLogging<RaftGrainStorageOptions>(name);
        services.AddTransient<IConfigurationValidator>(sp => new RaftGrainStorageOptionsValidator(
            sp.GetRequiredService<IOptionsMonitor<RaftGrainStorageOptions>>().Get(name),
            name,
            sp.GetRequiredService<ILocalSiloDetails>().Name));
        RaftLeaderPlacementRegistration.TryAdd(services);
        return services.AddGrainStorage(name, RaftGrainStorageFactory.Create);
    }
}
