using Raft.Core;
using Raft.Core.Engine;
using Raft.Core.Membership;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.Transport;
using Raft.Testing.KeyValue;
using Raft.Testing.Simulation.Invariants;

namespace Raft.Testing.Simulation;

/// <summary>
/// One simulated server: durable stores that survive crashes (log, hard state, snapshots), and an incarnation
/// (engine, state machine, proposal tracker, pending reads, transport) that a crash throws away.
/// </summary>
/// <remarks>
/// <para>
/// Each <see cref="Ready"/> is handled the way the runtime handles it: committed entries that
/// <see cref="WhilePersisting.AppliesFirst"/> admits are applied first, then <see cref="ReadyProcessor.PersistAndSendAsync"/>
/// (which installs a snapshot's log reset first, and completes synchronously here except for a leader's append kept in
/// flight, see the InFlight part),
/// then the state machine is restored from an installed snapshot, the other committed entries are applied in order and
/// reported to the <see cref="ProposalTracker"/>, confirmed reads are served, then <see cref="RawNode.Advance"/>;
/// after it, the node may snapshot its state machine and compact its log. A crash can strike inside a durable write
/// (see <see cref="DecideWriteFate"/>) or between those steps; the node then loses everything but its stores, and its
/// pending proposals end with an unknown outcome.
/// </para>
/// <para>
/// A node is <see cref="NodeState.Dormant"/> until the membership operator adds it, and <see cref="NodeState.Retired"/>
/// once it was removed from the configuration and shut down for good.
/// </para>
/// </remarks>
internal sealed partial class SimNode : IRaftMessageHandler, IDurableReplica
{
    /// <summary>The name reported when a node cannot restart from its durable state.</summary>
    public const string RecoveryName = "Recovery from durable state (crash consistency)";

    private readonly Simulator _sim;
    private readonly IReadOnlyList<string> _bootstrapVoters;
    private RawNode? _raw;
    private KvStateMachine? _stateMachine;
    private ProposalTracker? _tracker;
    private ReadyProcessor? _processor;
    private SimulatedTransport? _transport;

    // Set once a write of the current Ready decided to crash: the Ready's other write, which the runtime runs
    // concurrently, may or may not land before the power goes.
    private WriteFate? _crashing;

    // Durable writes made so far by the Ready being persisted.
    private int _writesInReady;

    // The engine's term when the ready before the one being handled was taken (or at start, the durable term): the
    // entries of the ready being handled were taken in that term or a later one. _termAtLastReady: the same for the
    // ready being handled.
    private long _termAtPreviousReady;
    private long _termAtLastReady;

    // What the state machine holds. Invariant: _appliedIndex is the index of the last entry applied (or of the snapshot
    // restored), _appliedTerm its term, _appliedConfiguration the configuration in force there.
    private long _appliedIndex;
    private long _appliedTerm;
    private ClusterConfiguration _appliedConfiguration;

    public SimNode(Simulator sim, int index, string id, IReadOnlyList<string> bootstrapVoters, SimRandom random)
    {
        _sim = sim;
        Index = index;
        Id = id;
        _bootstrapVoters = bootstrapVoters;
        _appliedConfiguration = new ClusterConfiguration(bootstrapVoters);
        Random = random;
        Log = new FaultyLogStore(this, sim);
        HardState = new FaultyHardStateStore(this, sim);
        Snapshots = new FaultySnapshotStore(this, sim);
        EngineLog = new EngineLogView(this);
    }

    public int Index { get; }

    public string Id { get; }

    string IDurableReplica.NodeId => Id;

    ILogView IDurableReplica.Log => Log;

    long IDurableReplica.SnapshotIndex => Snapshots.LatestIndex;

    /// <summary>This node's own random stream (storage faults, engine seeds).</summary>
    public SimRandom Random { get; }

    public FaultyLogStore Log { get; }

    public FaultyHardStateStore HardState { get; }

    public FaultySnapshotStore Snapshots { get; }

    public NodeState State { get; private set; } = NodeState.Dormant;

    public bool IsUp => _raw is not null;

    /// <summary>The last index the engine handed out in a ready (a leader may hold newer entries back).</summary>
    public long HandedOutThrough => (_raw ?? throw new InvalidOperationException($"{Id} is down.")).HandedOutThrough;

    /// <summary>Part of the cluster's life: started at least once and not retired (it may be down now).</summary>
    public bool IsActive => State is NodeState.Up or NodeState.Down;

    /// <summary>Which run of the node this is; increases at every crash, so stale timers and reports are ignored.</summary>
    public int Incarnation { get; private set; }

    public int Crashes { get; private set; }

    /// <summary>The highest commit index of this incarnation whose entries were checked against the committed log.</summary>
    public long LearnedCommit { get; set; }

    public RaftStatus Status => (_raw ?? throw new InvalidOperationException($"{Id} is down.")).Status;

    /// <summary>What this node knew when it decided a durable write of <paramref name="entries"/>, which its host starts now.</summary>
    /// <param name="entries">The entries the write holds, all of the ready being handled.</param>
    /// <returns>Its commit index now, and a term no later than the one it took the entries in.</returns>
    /// <remarks>
    /// The engine's term now may be later than the term of the leader whose entries the ready carries: a message of a
    /// newer term stepped before the ready was taken (a deferred input, say) raises the term but keeps the entries. So
    /// the term is the newest of two that cannot be later: the term when the previous ready was taken (a follower's
    /// entries were taken after it), and the newest term among the entries, the last one's (terms never decrease along
    /// a log, and no leader sends entries of a later term than its own).
    /// </remarks>
    public WriteDecision DecideWrite(IReadOnlyList<Entry> entries) =>
        new(Status.CommitIndex, Math.Max(_termAtPreviousReady, entries.Count > 0 ? entries[^1].Term : 0));

    public KvStateMachine StateMachine => _stateMachine ?? throw new InvalidOperationException($"{Id} is down.");

    public long AppliedIndex => _appliedIndex;

    public int PendingProposals => _tracker?.Count ?? 0;

    /// <summary>Boots the node from its durable state, as at first start or after a crash: the newest snapshot, then the log after it.</summary>
    public void Start()
    {
        if (State == NodeState.Retired)
        {
            throw new InvalidOperationException($"{Id} is retired.");
        }

        var snapshot = Snapshots.ReadLatest();
        var stateMachine = new KvStateMachine();
        Entry[] entries;
        if (snapshot is { } stored)
        {
            var meta = stored.Metadata;
            if (Log.BaseIndex > meta.Index)
            {
                throw new InvariantViolationException(
                    RecoveryName, $"{Id}'s log starts after {Log.BaseIndex}, past its newest snapshot through {meta.Index}: the entries between are lost.");
            }

            // As RaftNode's recovery does: a log that does not reach the snapshot, or does not continue it, starts over after it.
            if (Log.LastIndex < meta.Index)
            {
                // Every entry it holds is in the snapshot: a follower crashed between storing a snapshot from the
                // leader and resetting its log, or a leader snapshotted entries its own append had not made durable.
                _sim.OnLogEndedBeforeSnapshot(this, meta, tookItPastItsLog: _snapshotTakenPastLog == meta);
                Log.RecoverTo(meta.Index, meta.Term);
            }
            else if (Log.TermAt(meta.Index) != meta.Term)
            {
                // The log does not continue the snapshot (a crash between storing an installed snapshot and resetting
                // the log): what follows in it is from another history, and none of it can be committed.
                Log.RecoverTo(meta.Index, meta.Term);
                _sim.Trace($"{Id} recovery: its log does not continue its snapshot through {meta.Index}/{meta.Term}; log discarded");
            }

            entries = Log.EntriesAfter(meta.Index);
            Restore(stateMachine, stored.Data);
            _appliedIndex = meta.Index;
            _appliedTerm = meta.Term;
            _appliedConfiguration = meta.Configuration;
        }
        else
        {
            entries = Log.EntriesAfter(0);
            _appliedIndex = 0;
            _appliedTerm = 0;
            _appliedConfiguration = new ClusterConfiguration(_bootstrapVoters);
        }

        var hardState = HardState.State;
        var options = new RaftOptions
        {
            Id = Id,
            Voters = _bootstrapVoters,
            ElectionTick = _sim.Options.ElectionTick,
            HeartbeatTick = _sim.Options.HeartbeatTick,
            PreVote = _sim.Options.PreVote,
            CheckQuorum = _sim.Options.CheckQuorum,
            MaxInflightMessages = _sim.Options.MaxInflightMessages,
            MaxSizePerMessage = _sim.Options.MaxSizePerMessage,
            MaxUncommittedEntriesSize = _sim.Options.MaxUncommittedEntriesSize,
            ReadOnlyOption = _sim.Options.ReadOnlyOption,
            LeaseClockDriftTicks = _sim.Options.LeaseClockDriftTicks,
            SnapshotTrailingEntries = _sim.Options.SnapshotTrailingEntries,
            RetainedLogEntries = _sim.Options.RetainedLogEntries ?? 0,
            MinPipelinedAppendBytes = _sim.Options.MinPipelinedAppendBytes,
            RandomSeed = (int)Random.NextUInt64(),
        };

        // An in-memory state machine starts empty, or from the snapshot; the engine hands out every committed entry after it.
        try
        {
            _raw = new RawNode(
                options,
                new InitialState(hardState, entries, _appliedIndex, snapshot?.Metadata),
                _sim.Options.RetainedLogEntries is null ? null : ReadStable);
        }
        catch (ArgumentException refused)
        {
            // The stores hold only what they acknowledged, so whatever a crash left must be a state the node can
            // start from; refusing it would keep this node down forever.
            throw new InvariantViolationException(
                RecoveryName,
                $"{Id} cannot restart from what its stores made durable ({hardState}, snapshot {snapshot?.Metadata.ToString() ?? "none"}, " +
                $"log ({Log.BaseIndex}, {Log.LastIndex}] with last term {Log.TermAt(Log.LastIndex)}): {refused.Message}");
        }

        State = NodeState.Up;
        _stateMachine = stateMachine;
        _tracker = new ProposalTracker();
        _transport = new SimulatedTransport(_sim.Network, this);
        _processor = new ReadyProcessor(Log, HardState, _transport, _transport.StreamSnapshot);
        _transport.Start(this);
        _crashing = null;
        _inFlight = null;
        _writing = null;
        LearnedCommit = 0;
        _termAtPreviousReady = _termAtLastReady = hardState.Term;
        _sim.OnNodeStarted(this, _appliedIndex);
        Run(static node => { });
    }

    // The engine's reader for entries it let go of, as RaftNode's: the durable log store, read synchronously.
    private IReadOnlyList<Entry> ReadStable(long fromIndex, long toIndexInclusive)
    {
        var read = Log.ReadAsync(fromIndex, toIndexInclusive);
        _sim.OnEntriesReadBack((int)(toIndexInclusive - fromIndex + 1));
        return read.IsCompletedSuccessfully
            ? read.Result
            : throw new InvalidOperationException($"{Id}'s log store did not answer a read of [{fromIndex}, {toIndexInclusive}] synchronously.");
    }

    /// <summary>Loses everything in memory: engine, state machine, unapplied work, pending proposals and reads.</summary>
    public void Crash(string reason) => Stop(reason, crash: true);

    /// <summary>Shuts the node down for good: it was removed from the configuration.</summary>
    public void Retire()
    {
        Stop("retired", crash: false);
        State = NodeState.Retired;
    }

    private void Stop(string reason, bool crash)
    {
        if (!IsUp)
        {
            return;
        }

        if (crash)
        {
            Crashes++;
        }

        EndAppendInFlight(reason, crash);
        Incarnation++;
        State = NodeState.Down;
        _raw = null;
        _stateMachine = null;
        _processor = null;
        _ = _transport!.DisposeAsync();
        _transport = null;
        var tracker = _tracker!;
        _tracker = null;
        _crashing = null;
        tracker.FailAll(RaftNodeStoppedException.For(Id, new SimulatedCrashException(reason)));
        FailAllReads();
        AbandonDeferred();
        _sim.OnNodeCrashed(this, reason);
    }

    /// <summary>
    /// The clock ticks. As RaftNode's timer: a tick event is queued only when no firing is pending, and firings while it
    /// waits (behind a leader's writes) are counted; see <see cref="TickNow"/>. A leader whose writes run heartbeats on
    /// them meanwhile (see the InFlight part).
    /// </summary>
    public void Tick()
    {
        if (++_ticksPending == 1)
        {
            Submit(static node => node.TickNow(), abandon: null);
        }

        HeartbeatWhileWriting();
    }

    // As RaftNode.HandleTicks: a leader gets every firing it missed, since its lease is counted in its own ticks and must
    // not outlast the followers' election timeout in real time (seed 417 with slow disks served a stale lease read when
    // they were lost); anyone else gets one. The runtime first steps the acknowledgements that arrived while its loop was
    // held (RaftNode.StepWaitingAcknowledgements); here a leader steps them as they arrive while its writes run, so none
    // ever waits behind its late ticks.
    private void TickNow()
    {
        var ticks = _ticksPending;
        if (ticks == 0)
        {
            // Its firings were dropped by a heartbeat a follower answered while its writes ran (TryStepWhileWriting).
            return;
        }

        _ticksPending = 0;
        _firedAtLastBeat = 0;
        var raw = _raw!;
        if (ticks > 1 && raw.Status.Role == StateRole.Leader && !_sim.Options.LoseLeaderTicksWhileWriting)
        {
            raw.Tick(ticks);
        }
        else
        {
            raw.Tick();
        }
    }

    /// <summary>
    /// An out-of-turn election (a fault of the safety phase). One that waited behind this node's writes until faults
    /// stopped is dropped: the clock fault it stands for ended with them (run in the liveness phase, seed 63119's
    /// deposed the leader the phase had just found, with pre-vote off).
    /// </summary>
    public void Campaign() => Submit(
        static node =>
        {
            if (node._sim.FaultsOn)
            {
                node._raw!.Campaign();
            }
            else
            {
                node._sim.Trace($"{node.Id}'s out-of-turn campaign, queued behind its writes, is dropped: faults have stopped");
            }
        },
        abandon: null);

    /// <inheritdoc />
    public void Receive(Message message)
    {
        if (!IsUp || TryStepWhileWriting(message))
        {
            return;
        }

        Submit(node => node._raw!.Step(message), abandon: null);
    }

    /// <inheritdoc />
    public void ReportUnreachable(string nodeId) => Submit(node => node._raw!.ReportUnreachable(nodeId), abandon: null);

    public void ReportSnapshot(string nodeId, bool success) => Submit(node => node._raw!.ReportSnapshot(nodeId, success), abandon: null);

    /// <summary>
    /// Proposes a command once the engine takes requests (at once, unless a leader's writes are in flight); an accepted
    /// one gets a task that resolves when it is applied or known lost.
    /// </summary>
    /// <param name="command">The command.</param>
    /// <param name="then">Told the engine's answer; or, when the node stops first, a dropped outcome (it never reached the engine).</param>
    public void Propose(byte[] command, Action<ProposeOutcome, Task<ProposalResult>?> then)
    {
        if (!IsUp || TryProposeWhileWriting(command, then))
        {
            return;
        }

        Submit(node => node.Track(node._raw!.Propose(command), then), () => then(NotReached(), null));
    }

    /// <summary>Proposes a membership change, as <see cref="Propose"/>; an accepted one is tracked like a command, so it must resolve too.</summary>
    /// <param name="change">The change.</param>
    /// <param name="then">Told the engine's answer, or a dropped outcome when the node stops first.</param>
    public void ProposeConfigurationChange(ConfigurationChange change, Action<ProposeOutcome, Task<ProposalResult>?> then) =>
        Submit(node => node.Track(node._raw!.ProposeConfigurationChange(change), then), () => then(NotReached(), null));

    /// <summary>Asks the engine to hand leadership to <paramref name="target"/>, once it takes requests.</summary>
    /// <param name="target">The transferee, or null for the most up-to-date voter.</param>
    /// <param name="then">Told the engine's answer, or a dropped outcome when the node stops first.</param>
    public void TransferLeadership(string? target, Action<ProposeOutcome> then) =>
        Submit(node => then(node._raw!.TransferLeadership(target)), () => then(NotReached()));

    /// <summary>Decides whether the durable write about to happen lands, or crashes the node before or after it.</summary>
    public WriteFate DecideWriteFate()
    {
        _writesInReady++;
        if (_crashing is not null)
        {
            return DecideConcurrentWriteFate();
        }

        // One atomic batch per Ready: only its first write can decide the batch's fate.
        if ((_sim.Options.AtomicReadyWrites && _writesInReady > 1) || !Random.Chance(_sim.StorageCrashRate))
        {
            return WriteFate.Land;
        }

        _crashing = Random.Chance(0.5) ? WriteFate.CrashAfter : WriteFate.CrashBefore;
        return _crashing.Value;
    }

    /// <summary>
    /// The fate of a write that was running when the node crashed (the other write of a ready that is crashing, or an
    /// append in flight): it may have landed or not, unless the ready's writes form one atomic batch.
    /// </summary>
    /// <returns><see cref="WriteFate.CrashAfter"/> when it landed, else <see cref="WriteFate.CrashBefore"/>.</returns>
    public WriteFate DecideConcurrentWriteFate() =>
        _sim.Options.AtomicReadyWrites && _crashing is { } first ? first : Random.Chance(0.5) ? WriteFate.CrashAfter : WriteFate.CrashBefore;

    /// <summary>The fate of a durable write outside any Ready (a snapshot, a compaction): on its own, so always decided afresh.</summary>
    public WriteFate DecideSoloWriteFate()
    {
        _writesInReady = 0;
        _crashing = null;
        return DecideWriteFate();
    }

    // An accepted proposal is registered before its ready is taken, so before it can be applied.
    private void Track(ProposeOutcome outcome, Action<ProposeOutcome, Task<ProposalResult>?> then)
    {
        if (!outcome.IsAccepted)
        {
            then(outcome, null);
            return;
        }

        var completion = new TaskCompletionSource<ProposalResult>();
        _tracker!.Register(outcome.Index, outcome.Term, completion);
        then(outcome, completion.Task);
    }

    // What a request that was waiting for a leader's writes learns when the node stops first: it never reached the
    // engine, so it did not happen.
    private ProposeOutcome NotReached() =>
        new(ProposeStatus.Dropped, 0, 0, null, $"{Id} stopped before the request reached its engine");

    // Every input that is handled at once goes through here: feed the engine, then drain its readies; a simulated
    // crash anywhere inside ends this incarnation.
    private void Run(Action<SimNode> input)
    {
        if (!IsUp)
        {
            return;
        }

        try
        {
            input(this);
            HandleReadies();
        }
        catch (SimulatedCrashException crash)
        {
            Crash(crash.Message);
            _sim.ScheduleRestart(this);
        }
    }

    // Until none is left, or one stays in flight (a leader's append, see the InFlight part).
    private void HandleReadies()
    {
        var raw = _raw!;
        while (_inFlight is null && raw.HasReady())
        {
            var ready = raw.GetReady();
            _termAtPreviousReady = _termAtLastReady;
            _termAtLastReady = raw.Status.Term;
            if (ready.SoftState is { } soft)
            {
                _sim.Trace(new RoleChange(Id, soft));

                // Reads not yet confirmed may have gone with the old leader (the engine drops them): fail them, the
                // client retries. Confirmed ones stay valid whoever leads now.
                FailUnconfirmedReads();
            }

            if (ready.Snapshot is { } installed && Snapshots.Latest != installed)
            {
                throw new InvariantViolationException(
                    RecoveryName, $"{Id} is told to install snapshot {installed}, but its newest durable snapshot is {Snapshots.Latest?.ToString() ?? "none"}.");
            }

            _writing = ready.Entries;

            // As the runtime does (WhilePersisting.AppliesFirst): committed entries that were durable here before this
            // ready, or that a leader's followers committed, go to the state machine before its writes start; a follower
            // learning of their commit with the entries themselves waits. Without a soft state in the ready, the engine's role is the one the host knew before it.
            var leading = raw.Status.Role == StateRole.Leader;
            var applyFirst = WhilePersisting.AppliesFirst(ready, leading);
            if (applyFirst)
            {
                _sim.ObserveCommit(this);
                ApplyCommitted(ready.CommittedEntries);
                ServeAppliedReads();
            }

            _delayAppend = MayStayInFlight(ready, leading);
            _writesInReady = 0;
            var persisted = _processor!.PersistAndSendAsync(ready);
            _delayAppend = false;
            if (!persisted.IsCompleted)
            {
                StartInFlight(ready, persisted, applyFirst);
                return;
            }

            persisted.GetAwaiter().GetResult();
            FinishReady(ready, applyFirst);
        }
    }

    // The ready's writes are durable: restore an installed snapshot, apply what is left, serve reads, Advance.
    private void FinishReady(Ready ready, bool appliedFirst)
    {
        _writing = null;

        // Learn what is committed now, before anything is applied or compacted away.
        _sim.ObserveCommit(this);
        MaybeCrash("after persisting a ready, before applying it");

        if (ready.Snapshot is { } snapshot)
        {
            RestoreInstalledSnapshot(snapshot);
            MaybeCrash($"after restoring snapshot {snapshot.Index}, before applying");
        }

        if (!appliedFirst)
        {
            ApplyCommitted(ready.CommittedEntries);
        }

        OnReadStates(ready.ReadStates);
        ServeAppliedReads();
        MaybeCrash("after applying, before Advance");
        _raw!.Advance(ready);
        MaybeSnapshot();
    }

    private void ApplyCommitted(IReadOnlyList<Entry> committed)
    {
        foreach (var entry in committed)
        {
            MaybeCrash($"before applying {entry}");
            Apply(entry);
        }
    }

    private void Apply(Entry entry)
    {
        _sim.OnApply(this, entry);
        ReadOnlyMemory<byte> response = ReadOnlyMemory<byte>.Empty;
        if (entry.Type == EntryType.Normal)
        {
            var applied = _stateMachine!.ApplyAsync(entry);
            if (!applied.IsCompletedSuccessfully)
            {
                throw new InvalidOperationException("KvStateMachine.ApplyAsync did not complete synchronously.");
            }

            response = applied.Result;
        }
        else if (entry.Type == EntryType.ConfigChange)
        {
            _appliedConfiguration = ClusterConfiguration.Decode(entry.Data.Span);
        }

        OnAppliedProposedWhileWriting(entry);
        _appliedIndex = entry.Index;
        _appliedTerm = entry.Term;
        _tracker!.OnApplied(entry, response);
        _sim.OnAppliedState(this);
    }

    private void MaybeCrash(string where)
    {
        // Crashes between steps are rarer than crashes in writes: there are many more of these points.
        if (Random.Chance(_sim.StorageCrashRate / 4))
        {
            throw new SimulatedCrashException($"{Id} crashed {where}");
        }
    }

    /// <summary>A trace line for a change of role, leader or term.</summary>
    private sealed record RoleChange(string NodeId, SoftState State)
    {
        public override string ToString() =>
            $"{NodeId} is now {State.Role} in term {State.Term}{(State.LeaderId is null ? string.Empty : $" (leader {State.LeaderId})")}";
    }
}

/// <summary>Where a simulated node is in its life.</summary>
internal enum NodeState
{
    /// <summary>Not part of the cluster yet: a spare the membership operator may add.</summary>
    Dormant,

    /// <summary>Running.</summary>
    Up,

    /// <summary>Crashed; it restarts from its durable state.</summary>
    Down,

    /// <summary>Removed from the configuration and shut down for good.</summary>
    Retired,
}
