using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Configuration;
using Orleans.Raft.Networking;
using Orleans.Raft.StateMachine;
using Orleans.Runtime;
using Orleans.Serialization.Serializers;
using Orleans.Storage;
using Raft.Core.Runtime;
using Raft.Storage.Faster;

namespace Orleans.Raft.Storage;

/// <summary>
/// Grain storage replicated among the silos through Raft: each silo runs one Raft node of the provider; writes and
/// clears are conditional commands committed through the leader, reads are linearizable.
/// </summary>
/// <remarks>
/// <para>
/// ETags are the log index of the entry that last wrote or cleared a state, so they are the same on every replica. A
/// write or clear whose ETag is not the stored one fails with <see cref="InconsistentStateException"/> carrying both.
/// A clear keeps a tombstone (the ETag advances, <c>RecordExists</c> becomes false) unless
/// <see cref="RaftGrainStorageOptions.DeleteStateOnClear"/> is set.
/// </para>
/// <para>
/// A write on a follower is forwarded to the leader. Every write and clear belongs to this provider's client session
/// and carries a request id, so a retry after a lost answer (a leader change, a broken link) is applied at most once and
/// returns the first attempt's answer. Operations wait at most <see cref="RaftGrainStorageOptions.OperationTimeout"/>:
/// then a write fails with <see cref="RaftQuorumUnavailableException"/> when it was certainly not applied, or
/// <see cref="RaftWriteOutcomeUnknownException"/> when it may have been.
/// </para>
/// <para>Thread-safe; Orleans calls it from many grains at once.</para>
/// </remarks>
public sealed partial class RaftGrainStorage : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    private static readonly TimeSpan FirstRetryDelay = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMilliseconds(200);

    // Grain types are few (the application's grain classes): their names are decoded once, not on every operation.
    private static readonly ConcurrentDictionary<GrainType, string> GrainTypeNames = new();

    private readonly string _name;
    private readonly RaftGrainStorageOptions _options;
    private readonly string _serviceId;
    private readonly string _siloName;
    private readonly IActivatorProvider _activators;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly KeyValuePair<string, object?> _providerTag;
    private readonly ClientSession _session = new();

    private FasterRaftStorage? _storage;
    private IRaftStorageConnection? _connection;
    private RaftNode? _node;

    /// <summary>Creates the provider; its Raft node starts with the silo (see <see cref="Participate"/>).</summary>
    /// <param name="name">The provider's name.</param>
    /// <param name="options">The provider's options.</param>
    /// <param name="clusterOptions">The cluster's options (the ServiceId names the Raft group by default).</param>
    /// <param name="siloDetails">This silo (its name is the default node id).</param>
    /// <param name="activators">Creates empty states.</param>
    /// <param name="loggerFactory">Where the provider and its Raft node log.</param>
    public RaftGrainStorage(
        string name,
        RaftGrainStorageOptions options,
        IOptions<ClusterOptions> clusterOptions,
        ILocalSiloDetails siloDetails,
        IActivatorProvider activators,
        ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clusterOptions);
        ArgumentNullException.ThrowIfNull(siloDetails);
        ArgumentNullException.ThrowIfNull(activators);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _name = name;
        _options = options;
        _serviceId = clusterOptions.Value.ServiceId;
        _siloName = siloDetails.Name;
        _activators = activators;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<RaftGrainStorage>();
        _providerTag = new KeyValuePair<string, object?>(RaftStorageMetrics.ProviderTag, name);
        StateMachine = new GrainStateMachine();
        StateMachine.MemberAddressesChanged += OnMemberAddressesChanged;
    }

    /// <summary>The provider's name.</summary>
    public string Name => _name;

    /// <summary>This silo's node id in the Raft group.</summary>
    public string NodeId => _options.NodeId ?? _siloName;

    /// <summary>This silo's Raft node; null before the silo started it and after it stopped.</summary>
    public RaftNode? Node => _node;

    /// <summary>This silo's replica of the store (as of what its node applied).</summary>
    public GrainStateMachine StateMachine { get; }

    /// <inheritdoc />
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ReadStateAsync(stateName, grainId, grainState, CancellationToken.None);

    /// <inheritdoc />
    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        WriteStateAsync(stateName, grainId, grainState, CancellationToken.None);

    /// <inheritdoc />
    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        ClearStateAsync(stateName, grainId, grainState, CancellationToken.None);

    /// <summary>Reads a grain state linearizably: it reflects every write acknowledged before the call.</summary>
    /// <typeparam name="T">The state's type.</typeparam>
    /// <param name="stateName">The state's name.</param>
    /// <param name="grainId">The grain.</param>
    /// <param name="grainState">Receives the state, its ETag and whether a record exists.</param>
    /// <param name="cancellationToken">Abandons the read.</param>
    /// <returns>A task that completes once <paramref name="grainState"/> is filled in.</returns>
    /// <exception cref="RaftQuorumUnavailableException">No leader confirmed a read index within the operation timeout.</exception>
    /// <exception cref="RaftGrainStorageException">This silo's Raft node is not running.</exception>
    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = KeyOf(stateName, grainId);
        var started = Stopwatch.GetTimestamp();
        try
        {
            await WaitForReadIndexAsync(key, cancellationToken).ConfigureAwait(false);
        }
        catch (RaftGrainStorageException ex)
        {
            Count("read", ex is RaftQuorumUnavailableException ? "unavailable" : "failed");
            Log.OperationFailed(_logger, ex, _name, "read", key.ToString(), NodeId, ex.Message);
            throw;
        }

        if (StateMachine.TryGet(key, out var stored))
        {
            grainState.ETag = FormatETag(stored.ETag);
            grainState.RecordExists = stored.RecordExists;
            grainState.State = stored.Data is { } data
                ? _options.GrainStorageSerializer.Deserialize<T>(new BinaryData(data)) ?? CreateState<T>()
                : CreateState<T>();
        }
        else
        {
            grainState.ETag = null;
            grainState.RecordExists = false;
            grainState.State = CreateState<T>();
        }

        Count("read", "ok");
        RaftStorageMetrics.ReadLatency.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, _providerTag);
    }

    /// <summary>Writes a grain state if its ETag is the stored one; on success the ETag becomes the committing entry's index.</summary>
    /// <typeparam name="T">The state's type.</typeparam>
    /// <param name="stateName">The state's name.</param>
    /// <param name="grainId">The grain.</param>
    /// <param name="grainState">The state to write and the ETag it was read with; receives the new ETag.</param>
    /// <param name="cancellationToken">Abandons the wait; the write may still be applied.</param>
    /// <returns>A task that completes once the write is committed and applied.</returns>
    /// <exception cref="InconsistentStateException">The stored ETag is not the given one (another activation wrote since).</exception>
    /// <exception cref="RaftStateTooLargeException">The serialized state exceeds <see cref="RaftGrainStorageOptions.MaxStateSize"/>.</exception>
    /// <exception cref="RaftQuorumUnavailableException">No leader with a quorum within the operation timeout; not applied.</exception>
    /// <exception cref="RaftWriteOutcomeUnknownException">The write may or may not have been applied.</exception>
    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = KeyOf(stateName, grainId);
        var data = _options.GrainStorageSerializer.Serialize(grainState.State).ToMemory();
        if (data.Length > _options.MaxStateSize)
        {
            Count("write", "too_large");
            throw new RaftStateTooLargeException(
                $"Raft grain storage '{_name}': state '{stateName}' of grain {grainId} serializes to {data.Length} bytes, more than MaxStateSize ({_options.MaxStateSize}); it was not written. Make the state smaller or raise RaftGrainStorageOptions.MaxStateSize.");
        }

        var command = StateCommand(CommandKind.Write, key, grainState.ETag, data);
        var answer = await ExecuteAsync("write", key, command, cancellationToken).ConfigureAwait(false);
        ThrowIfETagMismatch(CommandKind.Write, answer, key, grainState.ETag);
        grainState.ETag = FormatETag(answer.ETag);
        grainState.RecordExists = true;
    }

    /// <summary>
    /// Clears a grain state if its ETag is the stored one: keeps a tombstone with a new ETag (or deletes the record when
    /// <see cref="RaftGrainStorageOptions.DeleteStateOnClear"/> is set), sets <c>RecordExists</c> false and resets the state.
    /// </summary>
    /// <typeparam name="T">The state's type.</typeparam>
    /// <param name="stateName">The state's name.</param>
    /// <param name="grainId">The grain.</param>
    /// <param name="grainState">The state and the ETag it was read with; receives the new ETag.</param>
    /// <param name="cancellationToken">Abandons the wait; the clear may still be applied.</param>
    /// <returns>A task that completes once the clear is committed and applied.</returns>
    /// <exception cref="InconsistentStateException">The stored ETag is not the given one.</exception>
    /// <exception cref="RaftQuorumUnavailableException">No leader with a quorum within the operation timeout; not applied.</exception>
    /// <exception cref="RaftWriteOutcomeUnknownException">The clear may or may not have been applied.</exception>
    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grainState);
        var key = KeyOf(stateName, grainId);
        var command = StateCommand(CommandKind.Clear, key, grainState.ETag, ReadOnlyMemory<byte>.Empty);
        var answer = await ExecuteAsync("clear", key, command, cancellationToken).ConfigureAwait(false);
        ThrowIfETagMismatch(CommandKind.Clear, answer, key, grainState.ETag);
        grainState.ETag = FormatETag(answer.ETag);
        grainState.RecordExists = false;
        grainState.State = CreateState<T>();
    }

    private static GrainStateKey KeyOf(string stateName, GrainId grainId)
    {
        ArgumentNullException.ThrowIfNull(stateName);
        return new GrainStateKey(GrainTypeNames.GetOrAdd(grainId.Type, static type => type.ToString()!), grainId.Key.ToString()!, stateName);
    }

    private static string? FormatETag(long etag) => etag == 0 ? null : etag.ToString(CultureInfo.InvariantCulture);

    private T CreateState<T>() => _activators.GetActivator<T>().Create();

    private RaftNode RequireNode() => _node ?? throw new RaftGrainStorageException(
        $"Raft grain storage '{_name}': the Raft node of this silo is not running (the silo is starting or stopping, or the node failed to start; see the silo log).");

    private void Count(string operation, string outcome) => RaftStorageMetrics.Operations.Add(
        1, _providerTag, new(RaftStorageMetrics.OperationTag, operation), new(RaftStorageMetrics.OutcomeTag, outcome));
}
