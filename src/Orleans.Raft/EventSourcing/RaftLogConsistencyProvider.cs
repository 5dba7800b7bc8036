using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.EventSourcing;
using Orleans.Raft.StateMachine;
using Orleans.Raft.Storage;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;

namespace Orleans.Raft.EventSourcing;

/// <summary>
/// Log-consistency provider for <c>JournaledGrain&lt;TState, TEvent&gt;</c> that keeps each grain's events in the
/// replicated journal of a Raft grain storage provider: a confirmed batch of events is one conditional append of just
/// those events, committed through Raft, and a periodic snapshot of the state bounds what an activation replays.
/// </summary>
/// <remarks>
/// Register it with <c>AddRaftLogConsistencyProvider</c> and use it with
/// <c>[LogConsistencyProvider(ProviderName = "...")]</c>. Each activation appends conditional on the journal ETag it
/// knows; a second activation of the same grain (during a failover) is refused, catches up from the journal and
/// retries, so the journal is one linear history. An append whose answer was lost is settled from the journal: every
/// record carries its writer and sequence number, so a batch is never appended twice nor dropped.
/// </remarks>
public sealed class RaftLogConsistencyProvider : ILogViewAdaptorFactory
{
    private readonly string _name;
    private readonly RaftLogConsistencyOptions _options;
    private readonly IGrainStorageSerializer _serializer;
    private readonly ILogger _logger;
    private readonly Lazy<IEventJournal> _journal;

    /// <summary>Creates the provider; it finds its Raft grain storage on first use.</summary>
    /// <param name="name">The provider's name.</param>
    /// <param name="options">The provider's options.</param>
    /// <param name="services">The silo's services (the grain storage and the serializer come from there).</param>
    public RaftLogConsistencyProvider(string name, RaftLogConsistencyOptions options, IServiceProvider services)
        : this(name, options, services, null)
    {
    }

    internal RaftLogConsistencyProvider(string name, RaftLogConsistencyOptions options, IServiceProvider services, IEventJournal? journal)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(services);
        _name = name;
        _options = options;
        _serializer = options.Serializer ?? new OrleansGrainStorageSerializer(services.GetRequiredService<Serializer>());
        _logger = services.GetRequiredService<ILoggerFactory>().CreateLogger<RaftLogConsistencyProvider>();
        _journal = new Lazy<IEventJournal>(() => journal ?? new RaftEventJournal(RequireRaftStorage(
            name, options.GrainStorageName, services.GetKeyedService<IGrainStorage>(options.GrainStorageName))));
    }

    /// <summary>False: the provider brings its own storage (the Raft journal named by <see cref="RaftLogConsistencyOptions.GrainStorageName"/>).</summary>
    public bool UsesStorageProvider => false;

    /// <inheritdoc />
    public ILogViewAdaptor<TLogView, TLogEntry> MakeLogViewAdaptor<TLogView, TLogEntry>(
        ILogViewAdaptorHost<TLogView, TLogEntry> hostGrain,
        TLogView initialState,
        string grainTypeName,
        IGrainStorage? grainStorage,
        ILogConsistencyProtocolServices services)
        where TLogView : class, new()
        where TLogEntry : class
    {
        ArgumentNullException.ThrowIfNull(hostGrain);
        ArgumentNullException.ThrowIfNull(services);
        var grainId = services.GrainId;
        var key = new GrainStateKey(grainId.Type.ToString()!, grainId.Key.ToString()!, grainTypeName);
        return new RaftLogViewAdaptor<TLogView, TLogEntry>(
            hostGrain, initialState, services, _journal.Value, key, _options, _serializer, _logger, _name);
    }

    /// <summary>Creates the provider named <paramref name="name"/> with its named options (the Orleans provider factory shape).</summary>
    /// <param name="services">The silo's services.</param>
    /// <param name="name">The provider's name.</param>
    /// <returns>The provider.</returns>
    public static RaftLogConsistencyProvider Create(IServiceProvider services, string name)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = services.GetRequiredService<IOptionsMonitor<RaftLogConsistencyOptions>>().Get(name);
        return new RaftLogConsistencyProvider(name, options, services);
    }

    internal static RaftGrainStorage RequireRaftStorage(string provider, string storageName, IGrainStorage? storage) => storage switch
    {
        RaftGrainStorage raft => raft,
        null => throw new OrleansConfigurationException(
            $"Raft log-consistency provider '{provider}': no grain storage provider named '{storageName}' is registered. Add one with siloBuilder.AddRaftGrainStorage(\"{storageName}\", ...), or set RaftLogConsistencyOptions.GrainStorageName to the name of yours."),
        _ => throw new OrleansConfigurationException(
            $"Raft log-consistency provider '{provider}': the grain storage provider '{storageName}' is a {storage.GetType().FullName}, not a Raft grain storage; the events need its replicated journal. Set RaftLogConsistencyOptions.GrainStorageName to a provider added with AddRaftGrainStorage."),
    };
}
