using Orleans.Placement;
using Orleans.Providers;

namespace Orleans.Raft.Placement;

/// <summary>
/// Marks a grain class as using <see cref="RaftLeaderPlacement"/>: its new activations go to the silo of the current
/// Raft leader of the named Raft grain storage, where writes need no forwarding.
/// </summary>
/// <remarks>
/// Every such grain lives on one silo (the leader's), so that silo carries their whole CPU and memory load; use it for
/// grains whose cost is dominated by storage writes. Activations do not move when leadership changes. The storage must
/// be registered with <c>AddRaftGrainStorage</c>, which also registers this placement.
/// </remarks>
/// <example>
/// <code>
/// [RaftLeaderPlacement("raft")]
/// public sealed class CounterGrain([PersistentState("state", "raft")] IPersistentState&lt;Counter&gt; state) : Grain, ICounterGrain { ... }
/// </code>
/// </example>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class RaftLeaderPlacementAttribute : PlacementAttribute
{
    /// <summary>Follows the leader of the default grain storage (<c>AddRaftGrainStorageAsDefault</c>).</summary>
    public RaftLeaderPlacementAttribute()
        : this(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME)
    {
    }

    /// <summary>Follows the leader of the Raft grain storage named <paramref name="storageName"/>.</summary>
    /// <param name="storageName">The provider's name, as in <c>[PersistentState("state", storageName)]</c>.</param>
    /// <exception cref="ArgumentException"><paramref name="storageName"/> is null, empty or white space.</exception>
    public RaftLeaderPlacementAttribute(string storageName)
        : base(new RaftLeaderPlacement(storageName))
    {
    }
}
