using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Journaling;
using Orleans.Providers;
using Orleans.Raft.Journaling;
using Orleans.Runtime;

namespace Orleans.Hosting;

/// <summary>Registers Orleans journaling on Raft (the journals live in a Raft grain storage's replicated store).</summary>
public static class RaftJournalStorageExtensions
{
    /// <summary>
    /// Adds Orleans journaling with its journals kept in the Raft grain storage named
    /// <see cref="RaftJournalStorageOptions.GrainStorageName"/>, as the journal storage "Default" that grain-scoped
    /// <c>IDurableStateManager</c>s use. Also adds the journaling services (<c>AddJournaling</c>); choose the journal
    /// format as usual (for example <c>UseJsonJournalFormat</c>).
    /// </summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="configure">Sets the options.</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder AddRaftJournalStorage(this ISiloBuilder builder, Action<RaftJournalStorageOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return builder.AddRaftJournalStorage(ob => ob.Configure(configure));
    }

    /// <summary>Adds Orleans journaling on Raft, configured through an options builder (see the other overload).</summary>
    /// <param name="builder">The silo builder.</param>
    /// <param name="configureOptions">Configures the options (binding to configuration, ...).</param>
    /// <returns>The builder.</returns>
    public static ISiloBuilder AddRaftJournalStorage(this ISiloBuilder builder, Action<OptionsBuilder<RaftJournalStorageOptions>>? configureOptions = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddRaftJournalStorage(configureOptions);
        return builder.AddJournalStorage(
            ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME, static sp => sp.GetRequiredService<RaftJournalStorageProvider>());
    }

    /// <summary>
    /// Adds the Raft journal storage provider to the silo's services as the unkeyed <see cref="IJournalStorageProvider"/>
    /// (the one grain-scoped state managers use). The journaling services themselves are registered on the silo
    /// builder: call <c>siloBuilder.AddJournaling()</c> too, or use the <see cref="ISiloBuilder"/> overload.
    /// </summary>
    /// <param name="services">The silo's services.</param>
    /// <param name="configureOptions">Configures the options.</param>
    /// <returns>The services.</returns>
    public static IServiceCollection AddRaftJournalStorage(this IServiceCollection services, Action<OptionsBuilder<RaftJournalStorageOptions>>? configureOptions = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        configureOptions?.Invoke(services.AddOptions<RaftJournalStorageOptions>());
        services.AddTransient<IConfigurationValidator>(static sp => new RaftJournalStorageOptionsValidator(
            sp.GetRequiredService<IOptions<RaftJournalStorageOptions>>().Value, sp));
        services.TryAddSingleton(static sp =>
        {
            var options = sp.GetRequiredService<IOptions<RaftJournalStorageOptions>>().Value;
            return new RaftJournalStorageProvider(
                RaftJournalStorageOptionsValidator.ResolveGrainStorage(options, sp),
                options,
                sp.GetRequiredService<IOptions<JournaledStateManagerOptions>>(),
                sp.GetRequiredService<ILoggerFactory>());
        });
        services.TryAddSingleton<IJournalStorageProvider>(static sp => sp.GetRequiredService<RaftJournalStorageProvider>());
        return services;
    }
}
