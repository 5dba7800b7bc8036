using System.Text;
using Raft.Core.Engine;
using Raft.Core.Membership;
using Raft.Testing.KeyValue;
using Raft.Testing.Linearizability;
using Raft.Testing.Simulation.Invariants;

namespace Raft.Testing.Simulation;

/// <summary>
/// A deterministic simulation of a Raft cluster: real engines, in-memory stores and a faulty network, driven by a
/// discrete event queue in virtual time, with every Raft invariant checked after every event.
/// </summary>
/// <remarks>
/// <para>
/// One seed derives everything (<see cref="SimulationOptions.FromSeed"/>); the run uses no clock, no thread and no
/// ambient randomness, so a seed replays exactly. A run has two phases: a safety phase with faults (partitions, lost,
/// duplicated and reordered messages, crashes, also in the middle of durable writes), then a liveness phase without
/// them, in which a leader must emerge, every pending proposal resolve, clients finish operations and replicas
/// converge, each within a bound. At the end the clients' history must be linearizable.
/// </para>
/// <para>
/// Beside the faults, the safety phase runs what a production cluster does: nodes snapshot and compact their logs, so
/// lagging and restarted nodes need snapshots streamed to them; a membership operator grows, shrinks and replaces
/// servers (spare nodes join on the fly, removed ones are shut down); leadership is transferred; and reads go through
/// ReadIndex or leases as well as through the log.
/// </para>
/// <para>Any failure throws <see cref="SimulationFailureException"/> with the seed, the virtual time and the recent events.</para>
/// </remarks>
public sealed partial class Simulator
{
    private const long MaxEvents = 5_000_000;

    private readonly EventQueue _queue = new();
    private readonly SimulationTrace _trace;
    private readonly SimNode[] _nodes;
    private readonly Dictionary<string, SimNode> _byId = new(StringComparer.Ordinal);
    private readonly long[] _tickPeriods;
    private readonly ClusterConfiguration _initialConfiguration;
    private readonly SimRandom _faultRandom;
    private readonly SimRandom _tickRandom;

    private readonly CommittedLog _committed;
    private readonly ElectionSafetyInvariant _electionSafety = new();
    private readonly LogMatchingInvariant _logMatching = new();
    private readonly StateMachineSafetyInvariant _stateMachineSafety = new();
    private readonly MonotonicCommitInvariant _monotonicCommit = new();
    private readonly LeaderCompletenessInvariant _leaderCompleteness;
    private readonly SingleConfigurationChangeInvariant _singleConfigurationChange = new();
    private readonly CommittedEntriesDurableInvariant _durability;
    private readonly SnapshotStateInvariant _snapshotStates = new();
    private readonly HashSet<long> _appliedRequests = [];

    // The electorates the durability check counts against, computed at most once per event.
    private IReadOnlyList<IReadOnlyList<IDurableReplica>> _electorates = [];
    private long _electoratesAt = -1;

    private SimPhase _phase = SimPhase.Safety;
    private long _events;

    /// <summary>Creates a run; nothing happens until <see cref="Run"/>.</summary>
    /// <param name="options">The run's shape, usually <see cref="SimulationOptions.FromSeed"/>.</param>
    public Simulator(SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        _trace = new SimulationTrace(options.TraceLength);
        var root = new SimRandom(unchecked((ulong)options.Seed));
        var networkRandom = root.Fork();
        _faultRandom = root.Fork();
        _tickRandom = root.Fork();
        var clientRandom = root.Fork();

        // Spare nodes exist from the start, dormant, so that adding one needs no resizing; they bootstrap with the
        // initial voters like every node and learn the real configuration from the log or a snapshot.
        var ids = Enumerable.Range(1, options.ClusterSize + options.SpareNodes).Select(i => $"n{i}").ToArray();
        var initialVoters = ids.Take(options.ClusterSize).ToArray();
        _initialConfiguration = new ClusterConfiguration(initialVoters);
        _committed = new CommittedLog(_initialConfiguration);
        Network = new SimulatedNetwork(this, networkRandom, options, ids);
        _nodes = new SimNode[ids.Length];
        _tickPeriods = new long[ids.Length];
        for (var i = 0; i < ids.Length; i++)
        {
            _nodes[i] = new SimNode(this, i, ids[i], initialVoters, root.Fork());
            _byId.Add(ids[i], _nodes[i]);
            var drift = ((_tickRandom.NextDouble() * 2) - 1) * options.MaxClockDrift;
            var rate = options.ClockRates is { } rates ? (i < rates.Count ? rates[i] : 1) : 1 + drift;
            _tickPeriods[i] = Math.Max(1, (long)(options.TickMicros * rate));
        }

        _clients = new SimClient[options.ClientCount];
        for (var i = 0; i < _clients.Length; i++)
        {
            _clients[i] = new SimClient(i, clientRandom.Fork());
        }

        _leaderCompleteness = new LeaderCompletenessInvariant(_committed);
        _durability = new CommittedEntriesDurableInvariant(_committed, Electorates);
        _membershipRandom = root.Fork();
        foreach (var id in initialVoters)
        {
            _joined.Add(id);
        }
    }

    private enum SimPhase
    {
        Safety,
        Liveness,
    }

    /// <summary>The run's options.</summary>
    public SimulationOptions Options { get; }

    internal SimulatedNetwork Network { get; }

    internal long Now => _queue.Now;

    /// <summary>The chance that a durable write crashes its node: only while faults are on.</summary>
    internal double StorageCrashRate => _phase == SimPhase.Safety ? Options.StorageCrashRate : 0;

    // Whether faults are still injected (the safety phase).
    internal bool FaultsOn => _phase == SimPhase.Safety;

    /// <summary>Runs one seed from start to end.</summary>
    /// <param name="seed">The seed.</param>
    /// <returns>What the run did.</returns>
    /// <exception cref="SimulationFailureException">An invariant, liveness or linearizability failed.</exception>
    public static SimulationResult RunSeed(long seed) => new Simulator(SimulationOptions.FromSeed(seed)).Run();

    /// <summary>Runs the simulation to its end.</summary>
    /// <returns>What the run did.</returns>
    /// <exception cref="SimulationFailureException">An invariant, liveness or linearizability failed.</exception>
    public SimulationResult Run()
    {
        try
        {
            Trace($"start: {Options}");
            for (var i = 0; i < Options.ClusterSize; i++)
            {
                _nodes[i].Start();
            }

            StartClients();
            ScheduleFaults();
            ScheduleMembership();
            Schedule(Options.SafetyPhaseMicros, new LivenessPhaseEvent());

            while (true)
            {
                if (!_queue.TryPop(out var next, out _))
                {
                    throw Failure("Simulator", "the event queue ran dry.");
                }

                if (++_events > MaxEvents)
                {
                    throw Failure("Simulator", $"more than {MaxEvents} events: the run does not end.");
                }

                if (next is not TickEvent)
                {
                    _trace.Add(Now, next);
                }

                Dispatch(next);
                ObserveNodes();
                PollClients();
                if (_phase == SimPhase.Liveness && LivenessReached())
                {
                    break;
                }
            }

            var members = CheckConvergence();
            var fingerprint = CheckHistory(members[0]);
            return new SimulationResult(
                Options.Seed, _events, Now, _stats.Completed, _stats.Failed, _stats.Unknown, _electionSafety.LeaderTerms,
                _nodes.Sum(node => node.Crashes), Network.Sent, _committed.LastIndex, fingerprint)
            {
                SnapshotsTaken = _features.SnapshotsTaken,
                SnapshotsInstalled = _features.SnapshotsInstalled,
                SnapshotTransfers = Network.SnapshotsSent,
                ConfigurationChanges = _committed.ConfigurationChanges,
                FinalVoters = members.Count(node => _committed.Configuration.IsVoter(node.Id)),
                Transfers = _features.Transfers,
                IndexReads = _features.IndexReads,
                WritesInFlight = _features.WritesInFlight,
                FollowerWritesInFlight = _features.FollowerWritesInFlight,
                HeartbeatsAnsweredWhileWriting = _features.HeartbeatsAnsweredWhileWriting,
                HeartbeatsWhileWriting = _features.HeartbeatsWhileWriting,
                NewLeaderWritesInFlight = _features.NewLeaderWritesInFlight,
                AppliedWhileWriting = _features.AppliedWhileWriting,
                AppliedAheadOfOwnLog = _features.AppliedAheadOfOwnLog,
                SnapshotsAheadOfOwnLog = _features.SnapshotsAheadOfOwnLog,
                EntriesReadBack = _features.EntriesReadBack,
                LeaderHeldEntries = _features.LeaderHeldEntries,
                StoppedWhileWriting = _features.StoppedWhileWriting,
                ProposedWhileWriting = _features.ProposedWhileWriting,
                CommittedBeforeOwnWrite = _features.CommittedBeforeOwnWrite,
                RestartsWithOwnSnapshotPastLog = _features.RestartsWithOwnSnapshotPastLog,
                LeaseSeed = Options.ReadOnlyOption == ReadOnlyOption.LeaseBased,
            };
        }
        catch (InvariantViolationException violation)
        {
            throw Failure(violation.Invariant, violation.Detail, violation);
        }
        catch (SimulationFailureException)
        {
            throw;
        }
        catch (Exception unexpected)
        {
            // The stack is the only clue to where a simulator or engine bug threw.
            throw Failure("Unexpected exception", $"{unexpected.GetType().Name}: {unexpected.Message}\n{unexpected.StackTrace}", unexpected);
        }
    }

    internal SimNode Node(int index) => _nodes[index];

    internal SimNode Node(string id) => _byId[id];

    internal void Schedule(long delay, SimEvent simEvent) => _queue.After(delay, simEvent);

    internal void Trace(object what) => _trace.Add(Now, what);

    private void Dispatch(SimEvent next)
    {
        switch (next)
        {
            case TickEvent tick:
                var node = _nodes[tick.Node];
                if (node.IsUp && node.Incarnation == tick.Incarnation)
                {
                    node.Tick();
                    if (node.IsUp && node.Incarnation == tick.Incarnation)
                    {
                        Schedule(_tickPeriods[tick.Node], tick);
                    }
                }

                break;
            case DeliverEvent deliver:
                Network.Deliver(deliver.Message);
                break;
            case SnapshotDeliverEvent snapshot:
                Network.DeliverSnapshot(snapshot.Transfer);
                break;
            case SnapshotReportEvent report:
                OnSnapshotReport(report.Transfer, report.Success);
                break;
            case RetireEvent retire:
                Retire(_nodes[retire.Node]);
                break;
            case UnreachableEvent unreachable:
                var reporter = _nodes[unreachable.Node];
                if (reporter.IsUp && reporter.Incarnation == unreachable.Incarnation)
                {
                    reporter.ReportUnreachable(unreachable.Peer);
                }

                break;
            case DiskWriteEvent write:
                _nodes[write.Node].OnDiskWrite(write.Incarnation);
                break;
            case RestartEvent restart:
                if (_nodes[restart.Node].State == NodeState.Down)
                {
                    _nodes[restart.Node].Start();
                }

                break;
            case FaultEvent fault:
                OnFault(fault.Kind);
                break;
            case ClientStartEvent start:
                StartOperation(_clients[start.Client]);
                break;
            case ClientTimeoutEvent timeout:
                TimeOut(_clients[timeout.Client], timeout.OperationId);
                break;
            case LivenessPhaseEvent:
                StartLiveness();
                break;
            default:
                throw new InvalidOperationException($"Unknown event {next}.");
        }
    }

    internal void OnNodeStarted(SimNode node, long applied)
    {
        _stateMachineSafety.ObserveStart(node.Id, applied);
        var hardState = node.HardState.State;
        Trace(
            $"{node.Id} starts (incarnation {node.Incarnation}) with term {hardState.Term}, vote {hardState.VotedFor ?? "none"}, commit {hardState.Commit}, " +
            $"snapshot {node.Snapshots.LatestIndex}, log ({node.Log.BaseIndex}, {node.Log.LastIndex}]");
        Schedule(_tickRandom.NextLong(1, _tickPeriods[node.Index] + 1), new TickEvent(node.Index, node.Incarnation));
    }

    internal void OnNodeCrashed(SimNode node, string reason)
    {
        Trace($"{node.Id} CRASH: {reason}");
        if (Options.LyingLogStore && node.Log.LoseUnsyncedWrites() is var lostFrom and > 0)
        {
            Trace($"{node.Id}'s disk lied: entries from {lostFrom} were never durable");
            node.HardState.RollBackCommitTo(lostFrom - 1);
            _durability.CheckFrom(lostFrom);
        }
    }

    internal void ScheduleRestart(SimNode node)
    {
        if (node.State != NodeState.Retired)
        {
            Schedule(_phase == SimPhase.Safety ? _faultRandom.Exponential(Options.MeanDowntimeMicros) : 1_000, new RestartEvent(node.Index));
        }
    }

    private void OnSnapshotReport(SnapshotTransfer transfer, bool success)
    {
        if (transfer.Completion is { } completion)
        {
            // SendSnapshotAsync's caller reports to its engine itself.
            if (success)
            {
                completion.TrySetResult();
            }
            else
            {
                completion.TrySetException(new IOException($"The snapshot stream to {transfer.Message.To} broke."));
            }

            return;
        }

        var sender = Node(transfer.Message.From);
        if (sender.IsUp && sender.Incarnation == transfer.SenderIncarnation)
        {
            sender.ReportSnapshot(transfer.Message.To, success);
        }
    }

    // The voter sets that can elect a leader now: the committed configuration's, and the newest leader's when it has a
    // change pending. A stale leader (partitioned in an older term) may still hold a configuration several changes old;
    // it can commit nothing, so its voters do not count. Computed once per event; a change made within the event is
    // counted from the next one.
    private IReadOnlyList<IReadOnlyList<IDurableReplica>> Electorates()
    {
        if (_electoratesAt == _events)
        {
            return _electorates;
        }

        var committed = _committed.Configuration;
        var pending = NewestLeader() is { } leader ? _nodes[leader].Status.Configuration : null;
        _electorates = pending is null || pending.Equals(committed)
            ? [Replicas(committed)]
            : [Replicas(committed), Replicas(pending)];
        _electoratesAt = _events;
        return _electorates;
    }

    /// <summary>The live leader of the highest term any leader ever had, if it is up; a stale leader (partitioned, in an older term) is not it.</summary>
    private int? NewestLeader() =>
        CurrentLeader() is { } leader && _nodes[leader].Status.Term >= _electionSafety.HighestLeaderTerm ? leader : null;

    private IDurableReplica[] Replicas(ClusterConfiguration configuration) =>
        configuration.Voters.Select(id => (IDurableReplica)_byId[id]).ToArray();

    private SimulationFailureException Failure(string invariant, string detail, Exception? inner = null)
    {
        var report = new StringBuilder();
        report.Append("Options: ").Append(Options).Append('\n');
        report.Append("Nodes:\n");
        report.Append("Committed configuration: ").Append(_committed.Configuration).Append(" (commit ").Append(_committed.LastIndex).Append(")\n");
        foreach (var node in _nodes.Where(node => node.State != NodeState.Dormant))
        {
            report.Append("  ").Append(node.IsUp ? node.Status.ToString() : $"{node.Id} {node.State.ToString().ToLowerInvariant()}").Append(", durable ")
                .Append(node.HardState.State).Append(", snapshot ").Append(node.Snapshots.Latest?.ToString() ?? "none")
                .Append(", log (").Append(node.Log.BaseIndex).Append(", ").Append(node.Log.LastIndex).Append("]\n");
        }

        report.Append("Blocked links: ").Append(Network.DescribeBlocked()).Append('\n');
        report.Append($"Last {Options.TraceLength} events (ticks omitted):\n").Append(_trace.Format());
        return new SimulationFailureException(Options.Seed, Now, invariant, detail, report.ToString(), inner);
    }
}
