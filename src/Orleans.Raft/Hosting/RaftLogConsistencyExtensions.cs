using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.EventSourcing;
using Orleans.Providers;
using Orleans.Raft.EventSourcing;
using Orleans.Runtime;
using Orleans.Storage;

namespace Orleans.Hosting;

/// <summary>Registers the Raft log-consistency provider for event-sourced grains (<c>JournaledGrain</c>) on a silo.</summary>
public static class RaftLogConsistencyExtensions
{
    /// <summary>Adds a Raft log-consistency provider named <paramref name="name"/>.</summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="name">The provider's name, as <c>[LogConsistencyProvider(ProviderName = name)]</c> refers to it.</param>
    /// <param name="configure">Sets the options (<see cref="RaftLogConsistencyOptions.GrainStorageName"/>,
    /// <see cref="RaftLogConsistencyOptions.SnapshotInterval"/>, <see cref="RaftLogConsistencyOptions.TrimHistory"/>, ...).</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder AddRaftLogConsistencyProvider(this ISiloBuilder builder, string name, Action<RaftLogConsistencyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return builder.AddRaftLogConsistencyProvider(name, ob => ob.Configure(configure));
    }

    /// <summary>Adds a Raft log-consistency provider named <paramref name="name"/>, configured through an options builder.</summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="name">The provider's name.</param>
    /// <param name="configureOptions">Configures the options (binding to configuration, ...); null keeps the defaults.</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder AddRaftLogConsistencyProvider(
        this ISiloBuilder builder, string name, Action<OptionsBuilder<RaftLogConsistencyOptions>>? configureOptions = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddRaftLogConsistencyProvider(name, configureOptions);
        return builder;
    }

    /// <summary>Adds a Raft log-consistency provider as the default one (used by journaled grains without the attribute).</summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder AddRaftLogConsistencyProviderAsDefault(this ISiloBuilder builder, Action<RaftLogConsistencyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddRaftLogConsistencyProviderAsDefault(configure);
        return builder;
    }

    /// <summary>Adds a Raft log-consistency provider as the default one, configured through an options builder.</summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="configureOptions">Configures the options; null keeps the defaults.</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder AddRaftLogConsistencyProviderAsDefault(
        this ISiloBuilder builder, Action<OptionsBuilder<RaftLogConsistencyOptions>>? configureOptions = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddRaftLogConsistencyProviderAsDefault(configureOptions);
        return builder;
    }

    /// <summary>Adds a Raft log-consistency provider as the default one.</summary>
    /// <param name="services">The silo's services.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddRaftLogConsistencyProviderAsDefault(this IServiceCollection services, Action<RaftLogConsistencyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddRaftLogConsistencyProviderAsDefault(ob => ob.Configure(configure));
    }

    /// <summary>Adds a Raft log-consistency provider as the default one, configured through an options builder.</summary>
    /// <param name="services">The silo's services.</param>
    /// <param name="configureOptions">Configures the options; null keeps the defaults.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddRaftLogConsistencyProviderAsDefault(
        this IServiceCollection services, Action<OptionsBuilder<RaftLogConsistencyOptions>>? configureOptions = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddRaftLogConsistencyProvider(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, configureOptions);
        services.TryAddSingleton<ILogViewAdaptorFactory>(sp => sp.GetRequiredKeyedService<ILogViewAdaptorFactory>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME));
        return services;
    }

    /// <summary>Adds a Raft log-consistency provider named <paramref name="name"/>.</summary>
    /// <param name="services">The silo's services.</param>
    /// <param name="name">The provider's name.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddRaftLogConsistencyProvider(this IServiceCollection services, string name, Action<RaftLogConsistencyOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddRaftLogConsistencyProvider(name, ob => ob.Configure(configure));
    }

    /// <summary>Adds a Raft log-consistency provider named <paramref name="name"/>, configured through an options builder.</summary>
    /// <param name="services">The silo's services.</param>
    /// <param name="name">The provider's name.</param>
    /// <param name="configureOptions">Configures the options; null keeps the defaults.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddRaftLogConsistencyProvider(
        this IServiceCollection services, string name, Action<OptionsBuilder<RaftLogConsistencyOptions>>? configureOptions = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        configureOptions?.Invoke(services.AddOptions<RaftLogConsistencyOptions>(name));
        services.ConfigureNamedOptionForLogging<RaftLogConsistencyOptions>(name);
        services.AddTransient<IConfigurationValidator>(sp => new RaftLogConsistencyOptionsValidator(
            sp.GetRequiredService<IOptionsMonitor<RaftLogConsistencyOptions>>().Get(name),
            name,
            storageName => sp.GetKeyedService<IGrainStorage>(storageName)));

        // JournaledGrain asks for this factory on activation; Orleans registers its own only with its built-in
        // providers (TryAdd: when one of them is also registered, either implementation serves).
        services.TryAddSingleton<Factory<IGrainContext, ILogConsistencyProtocolServices>>(sp =>
        {
            var create = ActivatorUtilities.CreateFactory(typeof(RaftProtocolServices), [typeof(IGrainContext)]);
            return context => (ILogConsistencyProtocolServices)create(sp, [context]);
        });
        services.AddKeyedSingleton<ILogViewAdaptorFactory>(name, (sp, _) => RaftLogConsistencyProvider.Create(sp, name));
        return services;
    }
}
