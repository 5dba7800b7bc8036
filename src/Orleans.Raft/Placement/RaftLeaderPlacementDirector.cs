using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Raft.Storage;
using Orleans.Runtime.Placement;
using Orleans.Storage;

namespace Orleans.Raft.Placement;

/// <summary>
/// Carries out <see cref="RaftLeaderPlacement"/> on the silo that places a grain: asks this silo's Raft node of the
/// named storage who leads, and picks that node's silo when it is active and compatible, else a random compatible silo.
/// </summary>
/// <remarks>Thread-safe and non-blocking: it reads the node's latest status and the current membership snapshot.</remarks>
internal sealed class RaftLeaderPlacementDirector(
    IServiceProvider services, IClusterMembershipService membership, ILogger<RaftLeaderPlacementDirector> logger) : IPlacementDirector
{
    // Storage names already reported as missing on this silo: the warning is about configuration, once is enough.
    private readonly ConcurrentDictionary<string, bool> _reportedMissing = new(StringComparer.Ordinal);

    /// <inheritdoc />
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        ArgumentNullException.ThrowIfNull(context);
        var storageName = ((RaftLeaderPlacement)strategy).StorageName;
        var compatible = context.GetCompatibleSilos(target);
        if (IPlacementDirector.GetPlacementHint(target.RequestContextData, compatible) is { } hint)
        {
            Count(storageName, RaftPlacementMetrics.Hint);
            return Task.FromResult(hint);
        }

        string? leaderId = null;
        string outcome;
        var storage = services.GetKeyedService<IGrainStorage>(storageName) as RaftGrainStorage;
        if (storage?.Node is not { } node)
        {
            // A provider that is not running (the silo starts or stops, the node failed) has no node; only a missing
            // provider is a configuration error worth a warning.
            outcome = RaftPlacementMetrics.NoRaftStorage;
            if (storage is null && _reportedMissing.TryAdd(storageName, true))
            {
                Log.PlacementStorageMissing(logger, storageName, context.LocalSilo.ToString(), target.GrainIdentity.Type.ToString()!);
            }
        }
        else if ((leaderId = node.Status.LeaderId) is null)
        {
            outcome = RaftPlacementMetrics.NoLeader;
        }
        else if (FindSilo(leaderId, storage.NodeId, compatible, context.LocalSilo) is { } leaderSilo)
        {
            Count(storageName, RaftPlacementMetrics.Leader);
            return Task.FromResult(leaderSilo);
        }
        else
        {
            outcome = RaftPlacementMetrics.LeaderUnavailable;
        }

        var silo = compatible[Random.Shared.Next(compatible.Length)];
        Count(storageName, outcome);
        Log.PlacementFallback(logger, target.GrainIdentity.ToString(), storageName, outcome, leaderId, silo.ToString());
        return Task.FromResult(silo);
    }

    // The leader's silo if it is compatible with the grain: this silo when it is the leader's (its node id may be
    // custom), else the active member named like the node; after a restart the newest generation.
    private SiloAddress? FindSilo(string leaderId, string localNodeId, SiloAddress[] compatible, SiloAddress localSilo)
    {
        if (string.Equals(leaderId, localNodeId, StringComparison.Ordinal))
        {
            return Array.IndexOf(compatible, localSilo) >= 0 ? localSilo : null;
        }

        SiloAddress? found = null;
        foreach (var member in membership.CurrentSnapshot.Members.Values)
        {
            if (member.Status == SiloStatus.Active
                && string.Equals(member.Name, leaderId, StringComparison.Ordinal)
                && Array.IndexOf(compatible, member.SiloAddress) >= 0
                && (found is null || member.SiloAddress.Generation > found.Generation))
            {
                found = member.SiloAddress;
            }
        }

        return found;
    }

    private static void Count(string storageName, string outcome) => RaftPlacementMetrics.Placements.Add(
        1, new(RaftStorageMetrics.ProviderTag, storageName), new(RaftStorageMetrics.OutcomeTag, outcome));
}
