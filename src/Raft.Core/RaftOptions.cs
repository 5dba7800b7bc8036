namespace Raft.Core;

/// <summary>Configuration of the consensus engine for one node.</summary>
/// <remarks>
/// Times are counted in ticks: the host calls <see cref="Engine.RawNode.Tick()"/> at a fixed interval, so the engine
/// needs no clock. <see cref="Validate"/> is called by every consumer; its messages say what to fix.
/// </remarks>
public sealed record RaftOptions
{
    /// <summary>This node's id; unique in the cluster and stable across restarts.</summary>
    public required string Id { get; init; }

    /// <summary>The ids of the voting members, this node included, when the cluster starts.</summary>
    public required IReadOnlyList<string> Voters { get; init; }

    /// <summary>
    /// Ticks without hearing from a leader before a follower campaigns. The actual timeout is drawn at random from
    /// [ElectionTick, 2 × ElectionTick) each time (§5.2). It is also the check-quorum window of a leader.
    /// </summary>
    public int ElectionTick { get; init; } = 10;

    /// <summary>Ticks between heartbeats of a leader; must be well below <see cref="ElectionTick"/>.</summary>
    public int HeartbeatTick { get; init; } = 1;

    /// <summary>Run a pre-vote round before an election so a rejoining node cannot disrupt a healthy leader (thesis §9.6).</summary>
    public bool PreVote { get; init; } = true;

    /// <summary>A leader that has not heard from a majority within an election timeout steps down (thesis §6.2).</summary>
    public bool CheckQuorum { get; init; } = true;

    /// <summary>Most AppendEntries in flight to one follower in the replicate state (pipelining window).</summary>
    public int MaxInflightMessages { get; init; } = 64;

    /// <summary>Most bytes of entries in flight to one follower; 0 means no byte limit.</summary>
    public long MaxInflightBytes { get; init; } = 32L * 1024 * 1024;

    /// <summary>Most bytes of entries in one AppendEntries (at least one entry is always sent).</summary>
    public long MaxSizePerMessage { get; init; } = 1024 * 1024;

    /// <summary>
    /// The fewest bytes of new entries worth a second AppendEntries to a follower that already has one in flight
    /// (a full message's worth always is). Smaller batches wait for that follower's acknowledgement and then go out
    /// together, so many small proposals under load make a few larger appends, acknowledgements and follower fsyncs
    /// rather than one each, while bulk traffic (catch-up, large commands) still pipelines up to
    /// <see cref="MaxInflightMessages"/>. 0 pipelines every batch. Defaults to 64 KiB.
    /// </summary>
    public long MinPipelinedAppendBytes { get; init; } = 64 * 1024;

    /// <summary>Most bytes of proposed but uncommitted entries a leader holds before it drops proposals; 0 means no limit.</summary>
    public long MaxUncommittedEntriesSize { get; init; }

    /// <summary>Largest command a proposal may carry, in bytes.</summary>
    public int MaxEntrySize { get; init; } = 16 * 1024 * 1024;

    /// <summary>How the leader confirms read indexes: a heartbeat round (default) or a time lease.</summary>
    public Engine.ReadOnlyOption ReadOnlyOption { get; init; } = Engine.ReadOnlyOption.Safe;

    /// <summary>
    /// For lease reads: how many ticks a node's clock may gain on the leader's over one election timeout. The lease
    /// ends this many ticks before the earliest moment a follower could vote for someone else; the ticks' phase (the
    /// follower's first tick after a heartbeat may come at once) is taken off besides, so a lease lasts
    /// <see cref="ElectionTick"/> − 1 − this many of the leader's ticks. With <see cref="Engine.ReadOnlyOption.LeaseBased"/>
    /// it must be at most <see cref="ElectionTick"/> − 2. The default, 2, covers clocks that run up to about 2 / 9 apart
    /// with the default ElectionTick of 10.
    /// </summary>
    public int LeaseClockDriftTicks { get; init; } = 2;

    /// <summary>Entries kept before a snapshot's index when the log is compacted, so slightly lagging followers catch up without a snapshot.</summary>
    public long SnapshotTrailingEntries { get; init; } = 1024;

    /// <summary>
    /// How many of the newest entries the engine keeps in memory once they are durable and applied, for followers that
    /// still lack them, when it was given a <see cref="Engine.StableEntryReader"/> (the runtime always gives one); older
    /// entries are read back from the log store when a follower that far behind needs them. Entries every follower
    /// holds leave memory as soon as they are durable and applied, and only a leader keeps any. Without a reader every
    /// entry since the last snapshot stays in memory. A small window lets entries die young: on .NET, entries held for
    /// seconds are copied by the garbage collector into older generations and make its collections slower. Defaults
    /// to 1024.
    /// </summary>
    public int RetainedLogEntries { get; init; } = 1024;

    /// <summary>
    /// Seed of the engine's only source of randomness (election timeouts). When null, a seed is derived from
    /// <see cref="Id"/> with a stable hash, so runs are reproducible and nodes still differ.
    /// </summary>
    public int? RandomSeed { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting to fix when the options are inconsistent.</summary>
    /// <exception cref="ArgumentException">A setting is out of range or contradicts another.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Id))
        {
            throw new ArgumentException("RaftOptions.Id must be a non-empty node id.", nameof(Id));
        }

        if (Voters is null || Voters.Count == 0)
        {
            throw new ArgumentException("RaftOptions.Voters must list at least one voting member.", nameof(Voters));
        }

        if (Voters.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("RaftOptions.Voters contains an empty node id.", nameof(Voters));
        }

        if (Voters.Distinct(StringComparer.Ordinal).Count() != Voters.Count)
        {
            throw new ArgumentException($"RaftOptions.Voters lists a node twice: {string.Join(", ", Voters)}.", nameof(Voters));
        }

        if (HeartbeatTick < 1)
        {
            throw new ArgumentException($"RaftOptions.HeartbeatTick must be at least 1 (was {HeartbeatTick}).", nameof(HeartbeatTick));
        }

        if (ElectionTick <= HeartbeatTick)
        {
            throw new ArgumentException(
                $"RaftOptions.ElectionTick ({ElectionTick}) must be greater than HeartbeatTick ({HeartbeatTick}); 10 × HeartbeatTick is typical.",
                nameof(ElectionTick));
        }

        if (MaxInflightMessages < 1)
        {
            throw new ArgumentException($"RaftOptions.MaxInflightMessages must be at least 1 (was {MaxInflightMessages}).", nameof(MaxInflightMessages));
        }

        if (MaxInflightBytes < 0 || MaxSizePerMessage < 1 || MaxUncommittedEntriesSize < 0)
        {
            throw new ArgumentException("RaftOptions.MaxInflightBytes and MaxUncommittedEntriesSize must be 0 or more, MaxSizePerMessage at least 1.");
        }

        if (MinPipelinedAppendBytes < 0)
        {
            throw new ArgumentException(
                $"RaftOptions.MinPipelinedAppendBytes must be 0 (pipeline every batch) or more (was {MinPipelinedAppendBytes}).",
                nameof(MinPipelinedAppendBytes));
        }

        if (ReadOnlyOption == Engine.ReadOnlyOption.LeaseBased && !CheckQuorum)
        {
            throw new ArgumentException(
                "RaftOptions.ReadOnlyOption = LeaseBased needs CheckQuorum = true: without it a deposed leader would not step down and could serve stale reads.",
                nameof(ReadOnlyOption));
        }

        if (LeaseClockDriftTicks < 0)
        {
            throw new ArgumentException($"RaftOptions.LeaseClockDriftTicks must be 0 or more (was {LeaseClockDriftTicks}).", nameof(LeaseClockDriftTicks));
        }

        if (ReadOnlyOption == Engine.ReadOnlyOption.LeaseBased && LeaseClockDriftTicks > ElectionTick - 2)
        {
            throw new ArgumentException(
                $"RaftOptions.LeaseClockDriftTicks must be at most ElectionTick − 2 with LeaseBased reads (was {LeaseClockDriftTicks}, ElectionTick " +
                $"{ElectionTick}): a lease lasts ElectionTick − 1 − LeaseClockDriftTicks ticks. Raise ElectionTick or lower LeaseClockDriftTicks.",
                nameof(LeaseClockDriftTicks));
        }

        if (SnapshotTrailingEntries < 0)
        {
            throw new ArgumentException($"RaftOptions.SnapshotTrailingEntries must be 0 or more (was {SnapshotTrailingEntries}).", nameof(SnapshotTrailingEntries));
        }

        if (RetainedLogEntries < 0)
        {
            throw new ArgumentException($"RaftOptions.RetainedLogEntries must be 0 or more (was {RetainedLogEntries}).", nameof(RetainedLogEntries));
        }

        if (MaxEntrySize < 1)
        {
            throw new ArgumentException($"RaftOptions.MaxEntrySize must be at least 1 (was {MaxEntrySize}).", nameof(MaxEntrySize));
        }
    }
}
