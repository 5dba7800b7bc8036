using Orleans.Providers;
using Orleans.Storage;

namespace Orleans.Configuration;

/// <summary>Configuration of one Raft log-consistency provider for event-sourced grains (see <c>AddRaftLogConsistencyProvider</c>).</summary>
/// <remarks>
/// The provider keeps each grain's events in the replicated journal of a Raft grain storage provider
/// (<see cref="GrainStorageName"/>), so it needs that provider registered on the same silo.
/// </remarks>
public sealed class RaftLogConsistencyOptions
{
    /// <summary>Default of <see cref="SnapshotInterval"/>: 100 events.</summary>
    public const int DefaultSnapshotInterval = 100;

    /// <summary>
    /// The name of the Raft grain storage provider (<c>AddRaftGrainStorage(name, ...)</c>) whose replicated journal holds
    /// the events. Defaults to <c>"Default"</c>, the provider added by <c>AddRaftGrainStorageAsDefault</c>.
    /// </summary>
    public string GrainStorageName { get; set; } = ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME;

    /// <summary>
    /// Every this many events the provider stores a snapshot of the grain's confirmed state, so that an activation
    /// loads the snapshot and replays only the events after it. Defaults to 100; 0 disables snapshots (every
    /// activation then replays the whole history).
    /// </summary>
    public int SnapshotInterval { get; set; } = DefaultSnapshotInterval;

    /// <summary>
    /// When false (the default) the whole event history is kept, and <c>RetrieveConfirmedEvents</c> can read any of it.
    /// When true, saving a snapshot drops the events before it: storage stays bounded, and
    /// <c>RetrieveConfirmedEvents</c> over a dropped range throws <c>RaftEventHistoryTrimmedException</c>.
    /// Requires <see cref="SnapshotInterval"/> &gt; 0.
    /// </summary>
    public bool TrimHistory { get; set; }

    /// <summary>
    /// Turns events and snapshots of the state into bytes and back. Null (the default) uses Orleans' binary serializer
    /// (<see cref="OrleansGrainStorageSerializer"/>): events and the state need <c>[GenerateSerializer]</c> and stay
    /// readable while their <c>[Id]</c>s are kept. Set it (for example to a JSON serializer) to store another format.
    /// </summary>
    public IGrainStorageSerializer? Serializer { get; set; }

    /// <summary>
    /// The longest wait between two attempts after the Raft group could not be reached (the wait starts at 10 ms and
    /// doubles). Defaults to 1 second.
    /// </summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(1);
}
