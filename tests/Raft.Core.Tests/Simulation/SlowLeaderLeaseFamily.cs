using Raft.Core.Engine;
using Raft.Testing.Simulation;

namespace Raft.Core.Tests.Simulation;

/// <summary>
/// A fault mix for leases: three voters, check-quorum and lease-based reads (nearly every operation a read, all at the
/// leader), leader appends of 60-150 ms (6-15 ticks, up to one and a half election timeouts), a partition every 50 ms
/// on average lasting 100 ms, nothing else drawn away from <see cref="SimulationOptions.FromSeed"/>.
/// </summary>
/// <remarks>
/// Ordinary seeds rarely put a lease leader's long append and a partition together. Here a leader is often cut off
/// while its append runs; the others elect a leader and commit, and the old leader's lease must have run out by the
/// time its write ends and it could read again. That needs every tick the write held back, taken as ticks: a runtime
/// that takes one tick for them (<see cref="SimulationOptions.LoseLeaderTicksWhileWriting"/>) serves a stale read
/// within the first few seeds (21 of seeds 1-60 when this was written), where ordinary seeds found it in 1 of 3,000.
/// </remarks>
internal static class SlowLeaderLeaseFamily
{
    /// <summary>The family's options for a seed.</summary>
    /// <param name="seed">The seed.</param>
    /// <returns>The options.</returns>
    public static SimulationOptions Options(long seed) =>
        SimulationOptions.FromSeed(seed) with
        {
            ClusterSize = 3,
            SpareNodes = 0,
            MeanTimeBetweenMembershipChangesMicros = 0,
            MeanTimeBetweenTransfersMicros = 0,
            MeanTimeBetweenCrashesMicros = 0,
            CheckQuorum = true,
            ReadOnlyOption = ReadOnlyOption.LeaseBased,
            ReadShare = 0.9,
            ReadIndexShare = 1,
            FollowerReadShare = 0,
            MinLeaderWriteMicros = 60_000,
            MaxLeaderWriteMicros = 150_000,
            MinFollowerWriteMicros = 0,
            MaxFollowerWriteMicros = 0,
            MeanTimeBetweenPartitionsMicros = 50_000,
            MeanPartitionMicros = 100_000,
        };
}
