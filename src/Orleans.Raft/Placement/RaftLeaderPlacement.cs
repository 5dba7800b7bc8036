using Orleans.Metadata;
using Orleans.Providers;

namespace Orleans.Raft.Placement;

/// <summary>
/// Places new activations on the silo whose Raft node currently leads the Raft group of a named Raft grain storage, so
/// their writes are proposed there directly instead of being forwarded to the leader. Grain classes opt in with
/// <see cref="RaftLeaderPlacementAttribute"/>.
/// </summary>
/// <remarks>
/// <para>
/// The choice is made once, when an activation is created: an activation stays where it is when leadership moves
/// later, and its writes then travel to the new leader as any follower's do. New activations follow the new leader.
/// </para>
/// <para>
/// When no leader is known (an election is under way), the leader's silo is not an active silo compatible with the
/// grain, or the silo placing the grain has no Raft grain storage of that name, the activation goes to a random
/// compatible silo; placement never waits for an election. A placement hint in the request context (as set for
/// migration) wins over the leader.
/// </para>
/// <para>
/// The leader's node id is mapped to a silo through the cluster membership by silo name, which is the node id unless
/// <c>RaftGrainStorageOptions.NodeId</c> says otherwise; with custom node ids only the leader's own silo recognises
/// itself, and the other silos place randomly.
/// </para>
/// </remarks>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
public sealed class RaftLeaderPlacement : PlacementStrategy
{
    /// <summary>The grain property that carries <see cref="StorageName"/> from the attribute to every silo's strategy.</summary>
    public const string StorageNameProperty = "orleans-raft-leader-placement-storage";

    /// <summary>Creates the strategy for the default grain storage; Orleans then sets the name from the grain's properties.</summary>
    public RaftLeaderPlacement()
        : this(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME)
    {
    }

    internal RaftLeaderPlacement(string storageName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(storageName);
        StorageName = storageName;
    }

    /// <summary>The Raft grain storage provider whose leader the grains follow.</summary>
    [Id(0)]
    public string StorageName { get; private set; }

    /// <inheritdoc />
    public override void Initialize(GrainProperties properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        if (properties.Properties.TryGetValue(StorageNameProperty, out var storageName) && !string.IsNullOrWhiteSpace(storageName))
        {
            StorageName = storageName;
        }
    }

    /// <inheritdoc />
    public override void PopulateGrainProperties(IServiceProvider services, Type grainClass, GrainType grainType, Dictionary<string, string> properties)
    {
        ArgumentNullException.ThrowIfNull(properties);
        base.PopulateGrainProperties(services, grainClass, grainType, properties);
        properties[StorageNameProperty] = StorageName;
    }
}
