using Raft.Core;
using Raft.Core.Engine;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Core.Transport;
using Raft.Testing.KeyValue;
using Raft.Testing.Simulation.Invariants;

namespace Raft.Testing.Simulation;

/// <summary>
/// One simulated server: durable stores that survive crashes, and an incarnation (engine, state machine, proposal
/// tracker, transport) that a crash throws away.
/// </summary>
/// <remarks>
/// Each <see cref="Ready"/> is handled the way the runtime handles it: <see cref="ReadyProcessor.PersistAndSendAsync"/>
/// (which must complete synchronously here), then the committed entries are applied in order and reported to the
/// <see cref="ProposalTracker"/>, then <see cref="RawNode.Advance"/>. A crash can strike inside a durable write (see
/// <see cref="DecideWriteFate"/>) or between those steps; the node then loses everything but its stores, and its
/// pending proposals end with an unknown outcome.
/// </remarks>
internal sealed class SimNode : IRaftMessageHandler
{
    /// <summary>The name reported when a node cannot restart from its durable state.</summary>
    public const string RecoveryName = "Recovery from durable state (crash consistency)";

    private readonly Simulator _sim;
    private readonly IReadOnlyList<string> _voters;
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

    public SimNode(Simulator sim, int index, IReadOnlyList<string> voters, SimRandom random)
    {
        _sim = sim;
        Index = index;
        Id = voters[index];
        _voters = voters;
        Random = random;
        Log = new FaultyLogStore(this, sim);
        HardState = new FaultyHardStateStore(this, sim);
    }

    public int Index { get; }

    public string Id { get; }

    /// <summary>This node's own random stream (storage faults, engine seeds).</summary>
    public SimRandom Random { get; }

    public FaultyLogStore Log { get; }

    public FaultyHardStateStore HardState { get; }

    public bool IsUp => _raw is not null;

    /// <summary>Which run of the node this is; increases at every crash, so stale timers and reports are ignored.</summary>
    public int Incarnation { get; private set; }

    public int Crashes { get; private set; }

    /// <summary>The highest commit index of this incarnation whose entries were checked against the committed log.</summary>
    public long LearnedCommit { get; set; }

    public RaftStatus Status => (_raw ?? throw new InvalidOperationException($"{Id} is down.")).Status;

    public KvStateMachine StateMachine => _stateMachine ?? throw new InvalidOperationException($"{Id} is down.");

    public int PendingProposals => _tracker?.Count ?? 0;

    /// <summary>Boots the node from its durable state, as at first start or after a crash.</summary>
    /// <exception cref="ArgumentException">The engine refused the recovered state.</exception>
    public void Start()
    {
        var hardState = HardState.State;
        var entries = Log.Entries.ToArray();
        var options = new RaftOptions
        {
            Id = Id,
            Voters = _voters,
            ElectionTick = _sim.Options.ElectionTick,
            HeartbeatTick = _sim.Options.HeartbeatTick,
            PreVote = _sim.Options.PreVote,
            CheckQuorum = _sim.Options.CheckQuorum,
            MaxInflightMessages = _sim.Options.MaxInflightMessages,
            MaxSizePerMessage = _sim.Options.MaxSizePerMessage,
            MaxUncommittedEntriesSize = _sim.Options.MaxUncommittedEntriesSize,
            RandomSeed = (int)Random.NextUInt64(),
        };

        // The state machine is in memory and starts empty, so the engine hands every committed entry out again.
        try
        {
            _raw = new RawNode(options, new InitialState(hardState, entries, Applied: 0));
        }
        catch (ArgumentException refused)
        {
            // The stores hold only what they acknowledged, so whatever a crash left must be a state the node can
            // start from; refusing it would keep this node down forever.
            throw new InvariantViolationException(
                RecoveryName,
                $"{Id} cannot restart from what its stores made durable ({hardState}, log of {entries.Length} entries, last term " +
                $"{(entries.Length == 0 ? 0 : entries[^1].Term)}): {refused.Message}");
        }

        _stateMachine = new KvStateMachine();
        _tracker = new ProposalTracker();
        _transport = new SimulatedTransport(_sim.Network, Index);
        _processor = new ReadyProcessor(Log, HardState, _transport);
        _transport.Start(this);
        _crashing = null;
        LearnedCommit = 0;
        _sim.OnNodeStarted(this);
        Run(static node => { });
    }

    /// <summary>Loses everything in memory: engine, state machine, unapplied work and pending proposals.</summary>
    public void Crash(string reason)
    {
        if (!IsUp)
        {
            return;
        }

        Crashes++;
        Incarnation++;
        _raw = null;
        _stateMachine = null;
        _processor = null;
        _ = _transport!.DisposeAsync();
        _transport = null;
        var tracker = _tracker!;
        _tracker = null;
        _crashing = null;
        tracker.FailAll(RaftNodeStoppedException.For(Id, new SimulatedCrashException(reason)));
        _sim.OnNodeCrashed(this, reason);
    }

    public void Tick() => Run(static node => node._raw!.Tick());

    public void Campaign() => Run(static node => node._raw!.Campaign());

    /// <inheritdoc />
    public void Receive(Message message) => Run(node => node._raw!.Step(message));

    /// <inheritdoc />
    public void ReportUnreachable(string nodeId) => Run(node => node._raw!.ReportUnreachable(nodeId));

    public Task ReceiveSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default) =>
        throw new NotSupportedException("The simulator does not transfer snapshots yet.");

    /// <summary>Proposes a command; an accepted one gets a task that resolves when it is applied or known lost.</summary>
    public (ProposeOutcome Outcome, Task<ProposalResult>? Completion) Propose(byte[] command)
    {
        var outcome = _raw!.Propose(command);
        if (!outcome.IsAccepted)
        {
            return (outcome, null);
        }

        var completion = new TaskCompletionSource<ProposalResult>();
        _tracker!.Register(outcome.Index, outcome.Term, completion);
        Run(static node => { });
        return (outcome, completion.Task);
    }

    /// <summary>Decides whether the durable write about to happen lands, or crashes the node before or after it.</summary>
    public WriteFate DecideWriteFate()
    {
        _writesInReady++;
        if (_crashing is { } first)
        {
            // The other write of a Ready that is crashing: the two run concurrently, so either may have landed.
            return _sim.Options.AtomicReadyWrites ? first : Random.Chance(0.5) ? WriteFate.CrashAfter : WriteFate.CrashBefore;
        }

        // One atomic batch per Ready: only its first write can decide the batch's fate.
        if ((_sim.Options.AtomicReadyWrites && _writesInReady > 1) || !Random.Chance(_sim.StorageCrashRate))
        {
            return WriteFate.Land;
        }

        _crashing = Random.Chance(0.5) ? WriteFate.CrashAfter : WriteFate.CrashBefore;
        return _crashing.Value;
    }

    // Every input goes through here: feed the engine, then drain its readies; a simulated crash anywhere inside ends
    // this incarnation.
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

    private void HandleReadies()
    {
        var raw = _raw!;
        while (raw.HasReady())
        {
            var ready = raw.GetReady();
            if (ready.SoftState is { } soft)
            {
                _sim.Trace(new RoleChange(Id, soft));
            }

            if (ready.Snapshot is not null)
            {
                // Nothing here compacts its log, so no leader should ever need to send a snapshot.
                throw new InvalidOperationException($"{Id} was handed a snapshot ({ready.Snapshot}); the simulator does not compact logs yet.");
            }

            _writesInReady = 0;
            var persisted = _processor!.PersistAndSendAsync(ready);
            if (!persisted.IsCompleted)
            {
                throw new InvalidOperationException(
                    "ReadyProcessor.PersistAndSendAsync did not complete synchronously over synchronous stores; the simulation cannot wait on it.");
            }

            persisted.GetAwaiter().GetResult();
            MaybeCrash("after persisting a ready, before applying it");

            foreach (var entry in ready.CommittedEntries)
            {
                MaybeCrash($"before applying {entry}");
                Apply(entry);
            }

            MaybeCrash("after applying, before Advance");
            raw.Advance(ready);
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

        _tracker!.OnApplied(entry, response);
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
