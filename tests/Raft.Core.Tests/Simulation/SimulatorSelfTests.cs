using Raft.Core.Engine;
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

    // Issue 5's operations, and leaders applying while their own appends run (WhilePersisting), must actually happen in
    // ordinary seeds, or their checks guard nothing. If the simulator stopped keeping leader appends in flight, or stopped
    // applying what acknowledgements commit meanwhile (or RawNode.TakeCommittedEntries handed out nothing), or stopped
    // taking proposals meanwhile, the last counts would drop to zero.
    [Fact]
    public void Simulation_FirstSeeds_ExerciseSnapshotsMembershipTransfersReadsAndWritesInFlight()
    {
        var results = Enumerable.Range(1, 5).Select(seed => Simulator.RunSeed(seed)).ToList();
        foreach (var result in results)
        {
            _output.WriteLine(result.ToString());
        }

        Assert.True(results.Sum(r => r.SnapshotsTaken) > 0, "no node took a snapshot");
        Assert.True(results.Sum(r => r.SnapshotsInstalled) > 0, "no node installed a snapshot from a leader");
        Assert.True(results.Sum(r => r.ConfigurationChanges) > 0, "no configuration change committed");
        Assert.True(results.Sum(r => r.Transfers) > 0, "no leadership transfer was accepted");
        Assert.True(results.Sum(r => r.IndexReads) > 0, "no read was served through ReadIndex");
        Assert.Contains(results, r => r.LeaseSeed && r.IndexReads > 0);
        Assert.True(results.Sum(r => r.WritesInFlight) > 0, "no leader append stayed in flight");
        Assert.True(results.Sum(r => r.AppliedWhileWriting) > 0, "no leader applied an entry while its append ran");
        Assert.True(results.Sum(r => r.StoppedWhileWriting) > 0, "no node crashed with an append in flight");
        Assert.True(results.Sum(r => r.ProposedWhileWriting) > 0, "no leader took a proposal while its append ran");
        Assert.True(results.Sum(r => r.EntriesReadBack) > 0, "no engine read an entry it let go of back from its log store");
        Assert.True(results.Sum(r => r.LeaderHeldEntries) > 0, "no leader held entries back for a follower's acknowledgement");
        Assert.True(results.Sum(r => r.FollowerWritesInFlight) > 0, "no follower append stayed in flight");
        Assert.True(results.Sum(r => r.HeartbeatsAnsweredWhileWriting) > 0, "no follower answered a heartbeat while its append ran");
        Assert.True(results.Sum(r => r.HeartbeatsWhileWriting) > 0, "no leader heartbeat while its own append ran");
        Assert.True(results.Sum(r => r.NewLeaderWritesInFlight) > 0, "no new leader's first append stayed in flight");
    }

    // A seed's run on a disk slower than a round trip, so that acknowledgements always beat the leader's own append.
    // ReadIndex by heartbeat rounds (the tests below chose their seeds so; lease seeds on slow disks are in
    // RegressionSeedTests.LeaderCatchesUpOnMissedTicksSeeds).
    private static SimulationOptions SlowLeaderDisk(long seed)
    {
        var options = SimulationOptions.FromSeed(seed);
        return options with
        {
            MinLeaderWriteMicros = 2 * options.MaxLatencyMicros,
            MaxLeaderWriteMicros = 4 * options.MaxLatencyMicros,
            MinFollowerWriteMicros = 0,
            MaxFollowerWriteMicros = 0,
            ReadOnlyOption = ReadOnlyOption.Safe,
        };
    }

    // Thesis §10.2.1: a leader needs no durable copy of its own to commit. One seed without faults, on a slow disk,
    // twice: with the acknowledgements held back until the leader's append ends (the runtime before it stepped them
    // early), nothing is applied meanwhile; stepped early, the leader applies entries before its own log holds them,
    // and every check holds.
    [Fact]
    public void Simulation_AcknowledgementsSteppedDuringTheAppend_LeaderAppliesAheadOfItsOwnLog()
    {
        var options = SlowLeaderDisk(4) with
        {
            DropRate = 0,
            DuplicateRate = 0,
            ReorderRate = 0,
            MeanTimeBetweenPartitionsMicros = 0,
            MeanTimeBetweenCrashesMicros = 0,
            MeanTimeBetweenCampaignsMicros = 0,
            StorageCrashRate = 0,
        };

        var early = new Simulator(options).Run();
        var held = new Simulator(options with { DeferAcknowledgementsWhileWriting = true }).Run();
        _output.WriteLine(early.ToString());
        _output.WriteLine(held.ToString());

        Assert.True(early.AppliedAheadOfOwnLog > 0, "the leader never applied an entry ahead of its own log");
        Assert.True(early.CommittedBeforeOwnWrite > 0, "no entry proposed while the leader wrote committed before its own write");
        Assert.True(held.WritesInFlight > 0, "no leader append stayed in flight");
        Assert.Equal(0, held.AppliedWhileWriting);
        Assert.Equal(0, held.ProposedWhileWriting);
    }

    // A leader's lease is counted in its own ticks: one that gets a single tick for all the firings it missed while its
    // append ran (the runtime before 927f60f) holds its lease too long and serves a stale read. Ordinary seeds found it
    // in ever fewer seeds as the runtime changed (211, then 91, then only 1682 of seeds 1-3000); the family built for it
    // finds it in about a third of its seeds.
    [Fact]
    public void Simulation_LeaderLosesTicksWhileWriting_StaleLeaseReadIsCaught()
    {
        var failure = FirstFailure(seed => SlowLeaderLeaseFamily.Options(seed) with { LoseLeaderTicksWhileWriting = true }, maxSeeds: 20);

        Assert.Equal(ReadIndexInvariant.Name, failure.Invariant);
    }

    // A leader that snapshots entries its own append has not made durable, then crashes before the append lands, finds
    // its log ending before its snapshot at restart; recovery resets the log behind the snapshot (as RaftNode's does),
    // the node rejoins, and every check holds. Slow disk, a snapshot every 10 entries, a crash every 100ms.
    [Fact]
    public void Simulation_LeaderCrashesWithItsSnapshotPastItsLog_RestartsFromTheSnapshot()
    {
        var options = SlowLeaderDisk(13) with
        {
            SnapshotThreshold = 10,
            MeanTimeBetweenCrashesMicros = 100_000,
        };

        var result = new Simulator(options).Run();
        _output.WriteLine(result.ToString());

        Assert.True(result.RestartsWithOwnSnapshotPastLog > 0, "no node restarted behind a snapshot it took past its own log");
    }

    // A runtime that resets its log for an installed snapshot but forgets to restore the state machine from it: the
    // snapshot-state check (or, failing that, convergence or linearizability) must notice within a few seeds.
    [Fact]
    public void Simulation_SnapshotInstallThatSkipsTheRestore_IsCaught()
    {
        var failure = FirstFailure(seed => SimulationOptions.FromSeed(seed) with { SkipRestoreOnInstall = true }, maxSeeds: 10);

        Assert.Contains(failure.Invariant, new[] { SnapshotStateInvariant.Name, Simulator.LinearizabilityName, Simulator.LivenessName });
    }

    // Thesis §6.4.1: a lease is only as good as the clocks. With the leader's clock at a third of the speed the drift
    // allowance covers, an isolated leader keeps serving reads from its lease after the others elected a new leader
    // and committed: the read-index check must catch the stale read. (Lease seeds of FromSeed keep drift in bounds.)
    // About 2-3 % of seeds catch it (9 of the first 300 before session 17's election-timer fix, 6 after); since
    // that fix, which changed every run's elections, seed 57 is the first.
    [Fact]
    public void Simulation_ClockDriftBeyondTheLeaseBound_StaleLeaseReadIsCaught()
    {
        var failure = FirstFailure(
            seed => SimulationOptions.FromSeed(seed) with
            {
                ClusterSize = 3,
                SpareNodes = 0,
                MeanTimeBetweenMembershipChangesMicros = 0,
                CheckQuorum = true,
                ReadOnlyOption = ReadOnlyOption.LeaseBased,
                LeaseClockDriftTicks = 1,
                ClockRates = [3.0],
                ReadShare = 0.9,
                ReadIndexShare = 1,
                FollowerReadShare = 0,
                MeanTimeBetweenPartitionsMicros = 100_000,
                MeanPartitionMicros = 200_000,
                MeanTimeBetweenTransfersMicros = 100_000,
            },
            maxSeeds: 60);

        Assert.Contains(failure.Invariant, new[] { ReadIndexInvariant.Name, Simulator.LinearizabilityName });
    }

    private SimulationFailureException FirstFailure(Func<long, SimulationOptions> options, int maxSeeds)
    {
        for (var seed = 1; seed <= maxSeeds; seed++)
        {
            try
            {
                new Simulator(options(seed)).Run();
            }
            catch (SimulationFailureException failure)
            {
                _output.WriteLine(failure.Summary);
                return failure;
            }
        }

        Assert.Fail($"none of {maxSeeds} seeds failed");
        throw new InvalidOperationException("unreachable");
    }

    private static readonly string[] ProtocolInvariants =
    [
        CommittedEntriesDurableInvariant.Name,
        LeaderCompletenessInvariant.Name,
        StateMachineSafetyInvariant.Name,
        LogMatchingInvariant.Name,
        ElectionSafetyInvariant.Name,
        Simulator.LinearizabilityName,
        CommittedLog.SnapshotName,
        SnapshotStateInvariant.Name,
        ReadIndexInvariant.Name,
    ];

    // A disk that acknowledges appends it never made durable (and rolls its commit index back with them on a crash)
    // breaks Raft's core promise; a protocol invariant must notice within a few seeds: the simulator's mutation test.
    // A seed may instead end in the liveness check (a follower that lost entries it acknowledged rejects the leader's
    // appends after them forever, the leader taking each rejection for a stale one: seed 1 since leaders take proposals
    // while writing); that is a catch too, but not the one this test asks for, so the search goes on past it.
    [Fact]
    public void Simulation_LogStoreThatLiesAboutFsync_IsCaught()
    {
        SimulationFailureException? caught = null;
        for (var seed = 1; seed <= 40 && caught is null; seed++)
        {
            var options = SimulationOptions.FromSeed(seed) with { LyingLogStore = true, AtomicReadyWrites = true };
            try
            {
                new Simulator(options).Run();
            }
            catch (SimulationFailureException failure)
            {
                Assert.Contains(failure.Invariant, ProtocolInvariants.Append(Simulator.LivenessName));
                caught = ProtocolInvariants.Contains(failure.Invariant) ? failure : null;
            }
        }

        Assert.NotNull(caught);
        _output.WriteLine(caught.Summary);
    }
}
