using Raft.Testing.Simulation;
using Raft.Testing.Simulation.Invariants;
using Xunit.Abstractions;

namespace Raft.Core.Tests.Simulation;

/// <summary>The simulator itself: it replays a seed exactly, and its end-to-end checks can fail.</summary>
[Trait("Category", "Simulation")]
public sealed class SimulatorSelfTests
{
    private readonly ITestOutputHelper _output;

    public SimulatorSelfTests(ITestOutputHelper output)
    {
        _output = output;
    }

    [Fact]
    public void Simulation_SameSeedTwice_ReplaysExactly()
    {
        var first = Simulator.RunSeed(7);
        var second = Simulator.RunSeed(7);

        Assert.Equal(first, second);
        Assert.True(first.Completed > 0, "the workload completed nothing");
    }

    [Fact]
    public void Simulation_DifferentSeeds_DifferentRuns()
    {
        Assert.NotEqual(Simulator.RunSeed(7).Fingerprint, Simulator.RunSeed(8).Fingerprint);
    }

    [Fact]
    public void Simulation_NetworkDownInLivenessPhase_ReportsLivenessFailureWithSeed()
    {
        var options = SimulationOptions.FromSeed(3) with { BreakNetworkInLiveness = true };

        var failure = Assert.Throws<SimulationFailureException>(() => new Simulator(options).Run());

        Assert.Equal(Simulator.LivenessName, failure.Invariant);
        Assert.Equal(3, failure.Seed);
        Assert.StartsWith("Simulation seed 3 failed", failure.Message, StringComparison.Ordinal);
        Assert.Contains("RAFT_SEED=3 dotnet test", failure.Message, StringComparison.Ordinal);
        Assert.Contains("n1", failure.Message, StringComparison.Ordinal);
    }

    private static readonly string[] ProtocolInvariants =
    [
        CommittedEntriesDurableInvariant.Name,
        LeaderCompletenessInvariant.Name,
        StateMachineSafetyInvariant.Name,
        LogMatchingInvariant.Name,
        ElectionSafetyInvariant.Name,
        Simulator.LinearizabilityName,
    ];

    // A disk that acknowledges appends it never made durable (and rolls its commit index back with them on a crash)
    // breaks Raft's core promise; a protocol invariant must notice within a few seeds: the simulator's mutation test.
    [Fact]
    public void Simulation_LogStoreThatLiesAboutFsync_IsCaught()
    {
        var caught = new List<SimulationFailureException>();
        for (var seed = 1; seed <= 40 && caught.Count == 0; seed++)
        {
            var options = SimulationOptions.FromSeed(seed) with { LyingLogStore = true, AtomicReadyWrites = true };
            try
            {
                new Simulator(options).Run();
            }
            catch (SimulationFailureException failure)
            {
                caught.Add(failure);
            }
        }

        var first = Assert.Single(caught);
        _output.WriteLine(first.Summary);
        Assert.Contains(first.Invariant, ProtocolInvariants);
    }
}
