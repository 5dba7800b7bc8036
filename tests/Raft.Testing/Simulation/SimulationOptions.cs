using Raft.Core.Engine;

namespace Raft.Testing.Simulation;

/// <summary>Everything that shapes one simulated run; <see cref="FromSeed"/> derives all of it from the seed.</summary>
/// <remarks>
/// Times are virtual microseconds. Tests that need a particular shape (a self-test that breaks the network) take
/// <see cref="FromSeed"/> and change a field with <c>with</c>, so the rest stays reproducible from the seed.
/// </remarks>
public sealed record SimulationOptions
{
    /// <summary>The seed every other choice and every random decision of the run derives from.</summary>
    public required long Seed { get; init; }

    /// <summary>Voters in the cluster: 3, 5 or 7.</summary>
    public int ClusterSize { get; init; } = 3;

    /// <summary>The engine's election timeout, in ticks.</summary>
    public int ElectionTick { get; init; } = 10;

    /// <summary>The engine's heartbeat interval, in ticks.</summary>
    public int HeartbeatTick { get; init; } = 1;

    /// <summary>Whether nodes run a pre-vote round.</summary>
    public bool PreVote { get; init; } = true;

    /// <summary>Whether leaders step down without a quorum.</summary>
    public bool CheckQuorum { get; init; } = true;

    /// <summary>The engine's pipelining window per follower.</summary>
    public int MaxInflightMessages { get; init; } = 64;

    /// <summary>The engine's per-message byte limit (small values force many small AppendEntries).</summary>
    public long MaxSizePerMessage { get; init; } = 1024 * 1024;

    /// <summary>The engine's limit on uncommitted bytes (0: none); exercises dropped proposals.</summary>
    public long MaxUncommittedEntriesSize { get; init; }

    /// <summary>The nominal tick period of every node.</summary>
    public long TickMicros { get; init; } = 10_000;

    /// <summary>Each node's clock runs fast or slow by up to this fraction.</summary>
    public double MaxClockDrift { get; init; } = 0.02;

    /// <summary>The shortest one-way message delay.</summary>
    public long MinLatencyMicros { get; init; } = 500;

    /// <summary>The longest ordinary one-way message delay.</summary>
    public long MaxLatencyMicros { get; init; } = 5_000;

    /// <summary>Probability that a message is lost (safety phase).</summary>
    public double DropRate { get; init; }

    /// <summary>Probability that a message is delivered twice (safety phase).</summary>
    public double DuplicateRate { get; init; }

    /// <summary>Probability that a message takes a long, independent delay and so overtakes or is overtaken (safety phase).</summary>
    public double ReorderRate { get; init; }

    /// <summary>The longest extra delay of a reordered message.</summary>
    public long MaxReorderDelayMicros { get; init; } = 50_000;

    /// <summary>Mean gap between network partitions (0: none).</summary>
    public long MeanTimeBetweenPartitionsMicros { get; init; }

    /// <summary>Mean length of a partition.</summary>
    public long MeanPartitionMicros { get; init; } = 300_000;

    /// <summary>Mean gap between node crashes (0: none).</summary>
    public long MeanTimeBetweenCrashesMicros { get; init; }

    /// <summary>Mean time a crashed node stays down.</summary>
    public long MeanDowntimeMicros { get; init; } = 200_000;

    /// <summary>Mean gap between nodes campaigning out of turn, as if their election timer fired early (0: never).</summary>
    public long MeanTimeBetweenCampaignsMicros { get; init; }

    /// <summary>Probability that a durable write, or a step of applying, crashes the node (safety phase).</summary>
    public double StorageCrashRate { get; init; }

    /// <summary>
    /// The writes of one <see cref="Raft.Core.Engine.Ready"/> (log append and hard state save) land or are lost
    /// together, as if both went to disk in one atomic batch (etcd's WAL). False (what
    /// <see cref="FromSeed"/> sets) models <see cref="Raft.Core.Runtime.ReadyProcessor"/>, which runs the log append
    /// and the hard state save concurrently, so a crash can keep either one without the other.
    /// True is for exploring past a recovery bug while it is being fixed.
    /// </summary>
    public bool AtomicReadyWrites { get; init; }

    /// <summary>A node snapshots its state machine and compacts its log once it applied this many entries past its last snapshot (0: never).</summary>
    public long SnapshotThreshold { get; init; }

    /// <summary>The engine's <see cref="Raft.Core.RaftOptions.SnapshotTrailingEntries"/>: entries kept before a snapshot's index.</summary>
    public long SnapshotTrailingEntries { get; init; } = 1024;

    /// <summary>
    /// The engine's <see cref="Raft.Core.RaftOptions.RetainedLogEntries"/>, with a reader over the node's log store as the
    /// runtime gives it; null runs the engine without a reader (every entry since the snapshot stays in memory). Small
    /// windows make leaders read most entries for lagging followers back from the store.
    /// </summary>
    public int? RetainedLogEntries { get; init; } = 2;

    /// <summary>
    /// The engine's <see cref="Raft.Core.RaftOptions.MinPipelinedAppendBytes"/>: 0 pipelines every batch to a follower;
    /// above that, batches smaller than this wait for the acknowledgement of the append in flight.
    /// </summary>
    public long MinPipelinedAppendBytes { get; init; } = 64 * 1024;

    /// <summary>The longest extra time a snapshot transfer takes beyond the link latency (streaming the data).</summary>
    public long MaxSnapshotTransferMicros { get; init; } = 20_000;

    /// <summary>
    /// The shortest time a leader's own log append takes when it may run while the leader steps its followers'
    /// acknowledgements (<see cref="Raft.Core.Runtime.WhilePersisting"/>); each such append draws its time between this
    /// and <see cref="MaxLeaderWriteMicros"/>.
    /// </summary>
    public long MinLeaderWriteMicros { get; init; }

    /// <summary>
    /// The longest time a leader's own append takes (see <see cref="MinLeaderWriteMicros"/>); 0: every write completes
    /// at once, and a leader never applies ahead of its own log. <see cref="FromSeed"/> draws it about as long as a
    /// message's round trip, so acknowledgements often arrive before the leader's own append completes.
    /// </summary>
    public long MaxLeaderWriteMicros { get; init; }

    /// <summary>
    /// The shortest time a follower's log append takes when it may run while the follower answers its leader's
    /// heartbeats (<see cref="Raft.Core.Runtime.WhilePersisting.FollowerAllowed"/>); each such append draws its time
    /// between this and <see cref="MaxFollowerWriteMicros"/>.
    /// </summary>
    public long MinFollowerWriteMicros { get; init; }

    /// <summary>
    /// The longest time a follower's append takes (see <see cref="MinFollowerWriteMicros"/>); 0: every follower write
    /// completes at once. <see cref="FromSeed"/> makes them slow in about half the seeds, up to an election timeout
    /// and a half, so that check-quorum and leases meet followers that answer heartbeats while their disks are slow.
    /// </summary>
    public long MaxFollowerWriteMicros { get; init; }

    /// <summary>
    /// Self-test hook: while a leader's append is in flight, its followers' acknowledgements and client proposals wait
    /// for it like every other input (the runtime before it stepped them early), so no entry is applied while the leader
    /// writes. Never set by <see cref="FromSeed"/>.
    /// </summary>
    public bool DeferAcknowledgementsWhileWriting { get; init; }

    /// <summary>
    /// Self-test hook: a leader whose loop fell behind (its append in flight) gets one tick for all the timer firings it
    /// missed, as anyone else does (the runtime before 927f60f), so its lease outlasts the followers' election timeout in
    /// real time. Never set by <see cref="FromSeed"/>.
    /// </summary>
    public bool LoseLeaderTicksWhileWriting { get; init; }

    /// <summary>How leaders confirm read indexes: heartbeat rounds, or leases (which rely on bounded clock drift).</summary>
    public ReadOnlyOption ReadOnlyOption { get; init; } = ReadOnlyOption.Safe;

    /// <summary>
    /// The engine's <see cref="Raft.Core.RaftOptions.LeaseClockDriftTicks"/>. <see cref="FromSeed"/> keeps
    /// <see cref="MaxClockDrift"/> within what it allows on lease seeds (see <see cref="LeaseSafeClockDrift"/>).
    /// </summary>
    public int LeaseClockDriftTicks { get; init; } = 2;

    /// <summary>The share of client operations that are reads (Get); the rest are Put, Cas and Delete.</summary>
    public double ReadShare { get; init; } = 0.3;

    /// <summary>The share of reads served through ReadIndex (or a lease) rather than through the log.</summary>
    public double ReadIndexShare { get; init; }

    /// <summary>The share of ReadIndex reads sent to a random node rather than the leader (a follower asks the leader, then serves locally).</summary>
    public double FollowerReadShare { get; init; }

    /// <summary>Mean gap between steps of the membership operator (0: membership never changes).</summary>
    public long MeanTimeBetweenMembershipChangesMicros { get; init; }

    /// <summary>Nodes beyond <see cref="ClusterSize"/> the membership operator may add over the run (grow, replace).</summary>
    public int SpareNodes { get; init; }

    /// <summary>Mean gap between requested leadership transfers (0: never).</summary>
    public long MeanTimeBetweenTransfersMicros { get; init; }

    /// <summary>Concurrent clients.</summary>
    public int ClientCount { get; init; } = 4;

    /// <summary>Distinct keys the clients use.</summary>
    public int KeyCount { get; init; } = 8;

    /// <summary>Longest pause of a client between two operations.</summary>
    public long MaxThinkMicros { get; init; } = 10_000;

    /// <summary>A client gives up on an operation after this long and records its outcome as unknown.</summary>
    public long ClientTimeoutMicros { get; init; } = 1_000_000;

    /// <summary>How long faults are injected.</summary>
    public long SafetyPhaseMicros { get; init; } = 5_000_000;

    /// <summary>After faults stop, a leader known to every node must emerge within this long.</summary>
    public long LeaderBoundMicros { get; init; } = 3_000_000;

    /// <summary>After that leader emerged, while proposals resolve, clients complete operations and replicas converge, the cluster never stalls for this long.</summary>
    public long ProgressBoundMicros { get; init; } = 3_000_000;

    /// <summary>Operations each client must complete after the leader emerged in the liveness phase.</summary>
    public int LivenessOperationsPerClient { get; init; } = 3;

    /// <summary>How many recent events a failure report shows.</summary>
    public int TraceLength { get; init; } = 120;

    /// <summary>
    /// Self-test hook: the network keeps dropping every message in the liveness phase, so the run must fail its
    /// liveness check. Never set by <see cref="FromSeed"/>.
    /// </summary>
    public bool BreakNetworkInLiveness { get; init; }

    /// <summary>
    /// Self-test hook: the log store acknowledges appends but a crash loses the last ones it acknowledged (a disk
    /// that lies about fsync), so the safety checks must eventually fire. Never set by <see cref="FromSeed"/>.
    /// </summary>
    public bool LyingLogStore { get; init; }

    /// <summary>
    /// Self-test hook: a node that installs a snapshot from the leader resets its log but keeps its old state machine
    /// (a runtime that forgets to restore), so the snapshot and convergence checks must fire. Never set by <see cref="FromSeed"/>.
    /// </summary>
    public bool SkipRestoreOnInstall { get; init; }

    /// <summary>
    /// Self-test hook: each node's tick period as a multiple of <see cref="TickMicros"/> (node i at position i, missing
    /// ones at 1), instead of a random drift within <see cref="MaxClockDrift"/>. Never set by <see cref="FromSeed"/>.
    /// </summary>
    public IReadOnlyList<double>? ClockRates { get; init; }

    /// <summary>
    /// The largest per-node clock drift (as a fraction of the tick period) under which a lease stays safe: a leader's
    /// lease of ElectionTick − 1 − LeaseClockDriftTicks of its ticks, started when a heartbeat is sent, must end before
    /// any follower that answered it counts ElectionTick of its own ticks from receiving it, the first of which may come
    /// at once: (E − 1 − D)·p_leader ≤ (E − 1)·p_follower, with periods p = tick·(1 ± drift).
    /// </summary>
    /// <param name="electionTick">The election timeout in ticks (E).</param>
    /// <param name="leaseClockDriftTicks">The engine's drift allowance (D).</param>
    /// <returns>The bound; 0 when D is 0 (clocks must then keep perfect time).</returns>
    public static double LeaseSafeClockDrift(int electionTick, int leaseClockDriftTicks)
    {
        var ratio = (electionTick - 1.0) / (electionTick - 1.0 - leaseClockDriftTicks);
        return Math.Max(0, (ratio - 1) / (ratio + 1));
    }

    /// <summary>Derives a whole run from <paramref name="seed"/>: cluster shape, engine options, faults and workload.</summary>
    /// <param name="seed">The seed.</param>
    /// <returns>The options.</returns>
    public static SimulationOptions FromSeed(long seed)
    {
        var r = new SimRandom(unchecked((ulong)seed) ^ 0x5EED_0F_0B7105UL);
        var size = r.Next(100) switch { < 45 => 3, < 85 => 5, _ => 7 };
        var electionTick = r.Next(6, 21);
        var heartbeatTick = r.Next(1, Math.Max(2, electionTick / 4));
        var tick = 10_000L;
        var minLatency = r.NextLong(100, 2_000);
        var maxLatency = minLatency + r.NextLong(500, 8_000);
        var stormy = r.Chance(0.5);
        var electionMicros = electionTick * tick;
        var checkQuorum = r.Chance(0.8);
        var clockDrift = r.NextDouble() * 0.03;

        // Drawn after everything above so that adding a knob here does not reshape the older ones.
        var snapshots = r.Chance(0.85);
        var snapshotThreshold = r.NextLong(10, 201);
        var trailing = r.NextLong(0, 21);
        var lease = checkQuorum && r.Chance(0.35);
        // 0 too: the lease must then hold with perfect clocks, on the ticks' phase alone (LeaseSafeClockDrift is 0).
        var leaseDrift = r.Next(0, Math.Min(5, electionTick - 1));
        var readIndexShare = r.Chance(0.15) ? 0 : r.NextDouble();
        var followerReadShare = r.NextDouble() * 0.7;
        var membership = r.Chance(0.7);
        var membershipGap = r.NextLong(100_000, 600_000);
        var spares = r.Next(2, 5);
        var transfers = r.Chance(0.6);
        var transferGap = r.NextLong(200_000, 1_500_000);
        var snapshotTransfer = r.NextLong(0, electionMicros);
        var leaderWriteMin = r.NextLong(0, minLatency + 1);
        var leaderWriteMax = leaderWriteMin + r.NextLong(1, (2 * maxLatency) + 1);
        var busy = new SimRandom(unchecked((ulong)seed) ^ 0xB05E_0BE2_A702UL);
        if (busy.Chance(0.2))
        {
            // A busy operator: a membership step every few heartbeats, transfers all the time, a snapshot every few
            // dozen entries and snapshot streams that take up to two election timeouts. Drawn from its own generator
            // so that the other options of a seed keep their shape.
            membershipGap = busy.NextLong(30_000, 100_000);
            spares = 6;
            transfers = true;
            transferGap = busy.NextLong(50_000, 150_000);
            snapshotThreshold = busy.NextLong(10, 31);
            trailing = busy.NextLong(0, 3);
            snapshotTransfer = busy.NextLong(electionMicros, electionMicros * 2);
        }

        // Drawn from its own generator, so that adding it kept every other option of a seed as it was.
        var retained = new SimRandom(unchecked((ulong)seed) ^ 0x5EED_0F_7E7A1UL).Pick(new int?[] { null, 0, 1, 2, 8, 64, 1024 });
        var minPipelined = new SimRandom(unchecked((ulong)seed) ^ 0x5EED_0F_917E1UL).Pick(new long[] { 0, 64, 1024, 64 * 1024 });
        var followerWrites = new SimRandom(unchecked((ulong)seed) ^ 0x5EED_0F_F0110UL);
        var followerWriteMax = followerWrites.Chance(0.5) ? followerWrites.NextLong(1, (electionTick * tick * 3 / 2) + 1) : 0;
        var followerWriteMin = followerWriteMax > 0 ? followerWrites.NextLong(0, followerWriteMax + 1) : 0;

        // Leaders' own appends that may last longer than a heartbeat interval, up to 1.5 election timeouts (a stalled
        // disk), on a fifth of the seeds: the leader heartbeats while they run (WhilePersisting.HeartbeatDue). Its own
        // generator, as above.
        var leaderStalls = new SimRandom(unchecked((ulong)seed) ^ 0x5EED_0F_57A11UL);
        if (leaderStalls.Chance(0.2))
        {
            leaderWriteMax = leaderWriteMin + leaderStalls.NextLong(tick, (electionTick * tick * 3 / 2) + 1);
        }
        if (lease)
        {
            // The lease is only as good as the clocks: keep every node's drift within what LeaseClockDriftTicks covers.
            clockDrift = Math.Min(clockDrift, LeaseSafeClockDrift(electionTick, leaseDrift));
        }

        return new SimulationOptions
        {
            Seed = seed,
            ClusterSize = size,
            ElectionTick = electionTick,
            HeartbeatTick = heartbeatTick,
            PreVote = r.Chance(0.8),
            CheckQuorum = checkQuorum,
            MaxInflightMessages = r.Pick(new[] { 1, 2, 4, 64, 256 }),
            MaxSizePerMessage = r.Pick(new long[] { 64, 256, 4096, 1024 * 1024 }),
            MaxUncommittedEntriesSize = r.Chance(0.25) ? r.NextLong(200, 4_000) : 0,
            TickMicros = tick,
            MaxClockDrift = clockDrift,
            MinLatencyMicros = minLatency,
            MaxLatencyMicros = maxLatency,
            DropRate = r.Chance(0.3) ? 0 : r.NextDouble() * (stormy ? 0.15 : 0.03),
            DuplicateRate = r.Chance(0.4) ? 0 : r.NextDouble() * 0.05,
            ReorderRate = r.Chance(0.3) ? 0 : r.NextDouble() * 0.1,
            MaxReorderDelayMicros = r.NextLong(maxLatency + 1, electionMicros * 2),
            MeanTimeBetweenPartitionsMicros = r.Chance(0.05) ? 0 : r.NextLong(150_000, stormy ? 600_000 : 1_200_000),
            MeanPartitionMicros = r.NextLong(electionMicros, electionMicros * 8),
            MeanTimeBetweenCrashesMicros = r.Chance(0.1) ? 0 : r.NextLong(200_000, stormy ? 800_000 : 2_000_000),
            MeanDowntimeMicros = r.NextLong(20_000, electionMicros * 6),
            MeanTimeBetweenCampaignsMicros = r.Chance(0.3) ? 0 : r.NextLong(200_000, 2_000_000),
            StorageCrashRate = r.Chance(0.3) ? 0 : r.NextDouble() * (stormy ? 0.004 : 0.001),
            ClientCount = r.Next(3, 9),
            KeyCount = r.Next(5, 21),
            MaxThinkMicros = r.NextLong(1, 30_000),
            ClientTimeoutMicros = electionMicros * 6 + 200_000,
            SafetyPhaseMicros = 8_000_000,
            LeaderBoundMicros = electionMicros * 2 * 15,
            ProgressBoundMicros = (electionMicros * 6 + 200_000) * 2 + 1_000_000,
            SnapshotThreshold = snapshots ? snapshotThreshold : 0,
            SnapshotTrailingEntries = trailing,
            RetainedLogEntries = retained,
            MinPipelinedAppendBytes = minPipelined,
            MaxSnapshotTransferMicros = snapshotTransfer,
            MinLeaderWriteMicros = leaderWriteMin,
            MaxLeaderWriteMicros = leaderWriteMax,
            MinFollowerWriteMicros = followerWriteMin,
            MaxFollowerWriteMicros = followerWriteMax,
            ReadOnlyOption = lease ? ReadOnlyOption.LeaseBased : ReadOnlyOption.Safe,
            LeaseClockDriftTicks = lease ? leaseDrift : 2,
            ReadIndexShare = readIndexShare,
            FollowerReadShare = followerReadShare,
            MeanTimeBetweenMembershipChangesMicros = membership ? membershipGap : 0,
            SpareNodes = membership ? spares : 0,
            MeanTimeBetweenTransfersMicros = transfers ? transferGap : 0,
        };
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"seed={Seed} nodes={ClusterSize} election={ElectionTick} heartbeat={HeartbeatTick} preVote={PreVote} checkQuorum={CheckQuorum} " +
        $"inflight={MaxInflightMessages} maxMsg={MaxSizePerMessage}B maxUncommitted={MaxUncommittedEntriesSize}B tick={TickMicros}us±{MaxClockDrift:P1} " +
        $"latency={MinLatencyMicros}-{MaxLatencyMicros}us drop={DropRate:P1} dup={DuplicateRate:P1} reorder={ReorderRate:P1} " +
        $"partitionEvery={MeanTimeBetweenPartitionsMicros / 1000}ms partitionFor={MeanPartitionMicros / 1000}ms " +
        $"crashEvery={MeanTimeBetweenCrashesMicros / 1000}ms downFor={MeanDowntimeMicros / 1000}ms campaignEvery={MeanTimeBetweenCampaignsMicros / 1000}ms storageCrash={StorageCrashRate:P2} " +
        $"clients={ClientCount} keys={KeyCount} timeout={ClientTimeoutMicros / 1000}ms safety={SafetyPhaseMicros / 1000}ms " +
        $"leaderWrite={MinLeaderWriteMicros}-{MaxLeaderWriteMicros}us followerWrite={MinFollowerWriteMicros}-{MaxFollowerWriteMicros}us snapshotEvery={SnapshotThreshold} trailing={SnapshotTrailingEntries} retained={RetainedLogEntries?.ToString() ?? "all"} minPipelined={MinPipelinedAppendBytes} reads={ReadOnlyOption}{(ReadOnlyOption == ReadOnlyOption.LeaseBased ? $"(drift {LeaseClockDriftTicks} ticks)" : string.Empty)} " +
        $"readIndex={ReadIndexShare:P0} followerReads={FollowerReadShare:P0} membershipEvery={MeanTimeBetweenMembershipChangesMicros / 1000}ms spares={SpareNodes} " +
        $"transferEvery={MeanTimeBetweenTransfersMicros / 1000}ms" +
        (BreakNetworkInLiveness ? " BREAK-NETWORK" : string.Empty) + (DeferAcknowledgementsWhileWriting ? " DEFER-ACKS" : string.Empty) + (LoseLeaderTicksWhileWriting ? " LOSE-LEADER-TICKS" : string.Empty) + (AtomicReadyWrites ? " atomic-ready-writes" : string.Empty) + (LyingLogStore ? " LYING-DISK" : string.Empty) + (SkipRestoreOnInstall ? " SKIP-RESTORE" : string.Empty) +
        (ClockRates is null ? string.Empty : $" CLOCK-RATES({string.Join(" ", ClockRates)})");
}
