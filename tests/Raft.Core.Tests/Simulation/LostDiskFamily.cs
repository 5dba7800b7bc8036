using Raft.Testing.Simulation;

namespace Raft.Core.Tests.Simulation;

/// <summary>
/// Lost disks replaced by the README's procedure (<see cref="SimulationOptions.LoseDisks"/>): a voter goes down with its
/// storage, is removed, starts again empty under its id and is added back in a later term, amid the faults of
/// <see cref="SimulationOptions.FromSeed"/>, with messages reordered often so that answers of the lost node's earlier
/// self still arrive after it is back.
/// </summary>
/// <remarks>
/// The procedure needs pre-vote or check-quorum (both on by default, and in Orleans.Raft): while it waits outside the
/// configuration, the rebuilt node campaigns with its bootstrap voters, and without either its vote requests of ever
/// higher terms depose every leader (seed 7204 drew neither). Seeds that draw neither get pre-vote.
/// </remarks>
internal static class LostDiskFamily
{
    /// <summary>The family's options for a seed.</summary>
    /// <param name="seed">The seed.</param>
    /// <returns>The options.</returns>
    public static SimulationOptions Options(long seed)
    {
        var options = SimulationOptions.FromSeed(seed);
        return options with
        {
            ClusterSize = 3 + (int)(seed % 3),
            SpareNodes = 0,
            LoseDisks = true,
            MeanTimeBetweenMembershipChangesMicros = 50_000,
            ReorderRate = 0.2,
            MaxReorderDelayMicros = options.ElectionTick * options.TickMicros * 4,
            PreVote = options.PreVote || !options.CheckQuorum,
        };
    }
}
