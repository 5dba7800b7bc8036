namespace Raft.Testing.Simulation;

/// <summary>What a successful run did, for the test output and for checking that a seed replays exactly.</summary>
/// <param name="Seed">The seed.</param>
/// <param name="Events">Events processed.</param>
/// <param name="VirtualMicros">Virtual time at the end.</param>
/// <param name="Completed">Client operations that completed with a result.</param>
/// <param name="Failed">Client operations known not to have taken effect (rejected or superseded).</param>
/// <param name="Unknown">Client operations whose outcome stayed unknown (crash or timeout).</param>
/// <param name="LeaderTerms">Terms that had a leader.</param>
/// <param name="Crashes">Node crashes, scheduled and injected into writes.</param>
/// <param name="MessagesSent">Messages handed to the network.</param>
/// <param name="CommittedIndex">The last index known committed at the end.</param>
/// <param name="Fingerprint">A hash of the history and the final state: equal for two runs of one seed.</param>
public sealed record SimulationResult(
    long Seed,
    long Events,
    long VirtualMicros,
    int Completed,
    int Failed,
    int Unknown,
    int LeaderTerms,
    int Crashes,
    long MessagesSent,
    long CommittedIndex,
    ulong Fingerprint)
{
    /// <summary>Snapshots nodes took of their own state machines.</summary>
    public int SnapshotsTaken { get; init; }

    /// <summary>Snapshots installed from a leader (log reset, state machine restored).</summary>
    public int SnapshotsInstalled { get; init; }

    /// <summary>Snapshot streams started by leaders.</summary>
    public int SnapshotTransfers { get; init; }

    /// <summary>Configuration changes committed.</summary>
    public int ConfigurationChanges { get; init; }

    /// <summary>Voters in the final configuration.</summary>
    public int FinalVoters { get; init; }

    /// <summary>Leadership transfers a leader accepted.</summary>
    public int Transfers { get; init; }

    /// <summary>Reads served through ReadIndex or a lease (not through the log).</summary>
    public int IndexReads { get; init; }

    /// <summary>Leader readies whose append stayed in flight while the leader stepped acknowledgements.</summary>
    public int WritesInFlight { get; init; }

    /// <summary>Follower readies whose append stayed in flight while the follower answered its leader's heartbeats.</summary>
    public int FollowerWritesInFlight { get; init; }

    /// <summary>Heartbeats followers answered while their own appends were in flight.</summary>
    public int HeartbeatsAnsweredWhileWriting { get; init; }

    /// <summary>Heartbeat rounds leaders sent while their own appends were in flight.</summary>
    public int HeartbeatsWhileWriting { get; init; }

    /// <summary>New leaders' first appends (the ready that made them leader) in flight.</summary>
    public int NewLeaderWritesInFlight { get; init; }

    /// <summary>Entries a leader applied while its own append was in flight (committed by its followers meanwhile).</summary>
    public int AppliedWhileWriting { get; init; }

    /// <summary>Of <see cref="AppliedWhileWriting"/>, entries the leader's own durable log did not hold yet.</summary>
    public int AppliedAheadOfOwnLog { get; init; }

    /// <summary>Entries engines read back from their log store because they were no longer in memory (a lagging follower).</summary>
    public long EntriesReadBack { get; init; }

    /// <summary>Times a leader was seen holding entries it had not handed out for writing (they waited to be sent).</summary>
    public int LeaderHeldEntries { get; init; }

    /// <summary>Snapshots a node took through an index past the end of its durable log.</summary>
    public int SnapshotsAheadOfOwnLog { get; init; }

    /// <summary>Nodes that crashed (or were shut down) with an append in flight.</summary>
    public int StoppedWhileWriting { get; init; }

    /// <summary>Client proposals a leader took while its own append was in flight.</summary>
    public int ProposedWhileWriting { get; init; }

    /// <summary>Of <see cref="ProposedWhileWriting"/>, entries applied (so committed) before the leader's own log held them.</summary>
    public int CommittedBeforeOwnWrite { get; init; }

    /// <summary>Restarts that found the log ending before a snapshot the node took past its own durable log, and reset the log.</summary>
    public int RestartsWithOwnSnapshotPastLog { get; init; }

    /// <summary>Whether the run's leaders served reads from leases.</summary>
    public bool LeaseSeed { get; init; }

    /// <inheritdoc />
    public override string ToString() =>
        $"seed {Seed}: {Events} events, {SimulationTrace.FormatTime(VirtualMicros)} virtual, ops {Completed} ok / {Failed} failed / {Unknown} unknown, " +
        $"{LeaderTerms} leader terms, {Crashes} crashes, {MessagesSent} messages, commit {CommittedIndex}, " +
        $"{SnapshotsTaken} snapshots / {SnapshotTransfers} sent / {SnapshotsInstalled} installed, {ConfigurationChanges} config changes ({FinalVoters} voters at the end), " +
        $"{Transfers} transfers, {IndexReads} {(LeaseSeed ? "lease/index" : "index")} reads, " +
        $"{WritesInFlight} leader appends in flight / {AppliedWhileWriting} entries applied meanwhile ({AppliedAheadOfOwnLog} ahead of the leader's log) / " +
        $"{FollowerWritesInFlight} follower appends in flight / {HeartbeatsAnsweredWhileWriting} heartbeats answered meanwhile / {HeartbeatsWhileWriting} leader heartbeats while writing / {NewLeaderWritesInFlight} new leaders' first appends in flight / " +
        $"{ProposedWhileWriting} proposals taken meanwhile ({CommittedBeforeOwnWrite} committed before the leader's own write) / " +
        $"{SnapshotsAheadOfOwnLog} snapshots ahead of the log / {StoppedWhileWriting} stops with an append in flight / {RestartsWithOwnSnapshotPastLog} restarts behind such a snapshot, fingerprint {Fingerprint:x16}";
}
