using Raft.Testing.Simulation;

namespace Raft.Core.Tests.Simulation;

/// <summary>
/// A fault mix for membership and snapshots: the seed's ordinary options, but where the seed changes membership at
/// all, a step every 40 ms on average with six spares to draw from; a leadership transfer every 80 ms; where it takes
/// snapshots, one every 10-29 entries (keeping 0-2 entries behind it); and snapshot streams that may last two election
/// timeouts.
/// </summary>
/// <remarks>
/// Ordinary seeds space these out, so a membership change rarely meets a snapshot install, a transfer or a learner
/// still catching up; here they overlap all the time (3,000 seeds: about 27,500 configuration changes, 179,000
/// transfers, 27,000 snapshot installs). Seed 1059 failed here first (RegressionSeedTests).
/// </remarks>
internal static class BusyOperatorFamily
{
    /// <summary>The family's options for a seed.</summary>
    /// <param name="seed">The seed.</param>
    /// <returns>The options.</returns>
    public static SimulationOptions Options(long seed)
    {
        var options = SimulationOptions.FromSeed(seed);
        return options with
        {
            MeanTimeBetweenMembershipChangesMicros = options.MeanTimeBetweenMembershipChangesMicros > 0 ? 40_000 : 0,
            SpareNodes = options.MeanTimeBetweenMembershipChangesMicros > 0 ? 6 : 0,
            MeanTimeBetweenTransfersMicros = 80_000,
            SnapshotThreshold = options.SnapshotThreshold > 0 ? 10 + (seed % 20) : 0,
            SnapshotTrailingEntries = seed % 3,
            MaxSnapshotTransferMicros = options.ElectionTick * options.TickMicros * 2,
        };
    }
}
