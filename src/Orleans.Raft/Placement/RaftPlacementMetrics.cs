using System.Diagnostics.Metrics;
using Orleans.Raft.Storage;

namespace Orleans.Raft.Placement;

/// <summary>Placement instruments on the "Orleans.Raft" meter.</summary>
internal static class RaftPlacementMetrics
{
    public const string Leader = "leader";
    public const string Hint = "hint";
    public const string NoRaftStorage = "no_raft_storage";
    public const string NoLeader = "no_leader";
    public const string LeaderUnavailable = "leader_unavailable";

    public static readonly Counter<long> Placements = RaftStorageMetrics.Meter.CreateCounter<long>(
        "orleans.raft.placement.decisions", "{activation}",
        "New activations placed by RaftLeaderPlacement, tagged with the outcome: leader (on the leader's silo), hint (a placement hint won), or why a random silo was chosen (no_raft_storage, no_leader, leader_unavailable).");
}
