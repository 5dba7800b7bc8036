using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Raft.Core.Engine;
using Raft.Core.Messages;
using Raft.Core.StateMachine;
using Raft.Core.Storage;
using Raft.Core.Transport;

namespace Raft.Core.Runtime;

/// <summary>
/// A running Raft node: hosts the <see cref="RawNode"/> engine in one consensus loop, does its I/O through the given
/// stores and transport, and applies committed commands to the state machine.
/// </summary>
/// <remarks>
/// <para>
/// Threads: one consensus loop owns the engine; everything else (proposals, messages from the transport, ticks of
/// the <see cref="TimeProvider"/> timer, unreachable reports) reaches it as an event on one channel, so no lock guards
/// the engine. Each loop iteration takes every queued event (up to <see cref="RaftNodeOptions.MaxEventsPerIteration"/>),
/// so all proposals that arrived meanwhile go into one append and one fsync, and a follower writes everything that
/// arrived during one fsync with the next one (group commit). A separate applier task hands committed entries to the
/// <see cref="IStateMachine"/> in log order and resolves the proposals. All public members are thread-safe.
/// </para>
/// <para>
/// Failure: an exception from a store, the state machine or the engine stops the node (the durable or applied state
/// is then unknown, and a replica must never go on from a guess): it is logged as critical, every pending proposal
/// fails with <see cref="RaftNodeStoppedException"/> carrying it, and <see cref="Completion"/> faults with it.
/// </para>
/// <para>
/// Beyond proposals it offers linearizable reads (<see cref="WaitForLinearizableReadAsync"/>), membership changes
/// (<see cref="AddLearnerAsync"/>, <see cref="PromoteLearnerAsync(string, CancellationToken)"/>,
/// <see cref="RemoveMemberAsync"/>), leadership transfer (<see cref="TransferLeadershipAsync"/>, also done by
/// <see cref="StopAsync"/> on a leader), and snapshots with log compaction: the applier writes a snapshot into the
/// <see cref="ISnapshotStore"/> beside the consensus loop once <see cref="RaftNodeOptions.SnapshotEntryThreshold"/> or
/// <see cref="RaftNodeOptions.SnapshotByteThreshold"/> is passed, a follower too far behind receives one over the
/// transport, and a restart recovers from the newest snapshot plus the log after it.
/// </para>
/// <para>
/// Ownership: the node does not dispose the stores, transport or state machine it was given; their creator does,
/// after <see cref="StopAsync"/>.
/// </para>
/// </remarks>
public sealed partial class RaftNode : IAsyncDisposable
{
    private const int NotStarted = 0;
    private const int Running = 1;
    private const int Stopped = 2;

    private readonly RaftNodeOptions _options;
    private readonly ILogStore _logStore;
    private readonly IHardStateStore _hardStateStore;
    private readonly ISnapshotStore _snapshotStore;
    private readonly IRaftTransport _transport;
    private readonly IStateMachine _stateMachine;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly ReadyProcessor _readyProcessor;
    private readonly KeyValuePair<string, object?> _nodeTag;
    private readonly Channel<LoopEvent> _events;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Guards _proposals (the loop registers, the applier resolves) and _leaderWaiter.
    private readonly Lock _lock = new();
    private readonly ProposalTracker _proposals;

    private int _state = NotStarted;
    private int _stopRequested;
    private Exception? _failure;
    private volatile RaftStatus _status;
    private TaskCompletionSource<string>? _leaderWaiter;
    private ITimer? _ticker;
    private Task _loopTask = Task.CompletedTask;
    private LogWriteThread? _logWriteThread;
    private Task _applierTask = Task.CompletedTask;

    /// <summary>
    /// Creates a node that keeps its snapshots in memory (an <see cref="InMemorySnapshotStore"/> of its own); it does
    /// nothing until <see cref="StartAsync"/>.
    /// </summary>
    /// <param name="options">The engine's and the runtime's configuration; validated here.</param>
    /// <param name="logStore">The durable log.</param>
    /// <param name="hardStateStore">The durable term, vote and commit index.</param>
    /// <param name="transport">Carries messages to and from the peers; started by <see cref="StartAsync"/>.</param>
    /// <param name="stateMachine">Receives the committed commands.</param>
    /// <param name="timeProvider">The clock driving ticks; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="loggerFactory">Where logs go; none when null.</param>
    /// <remarks>
    /// The in-memory snapshots die with this instance, while a durable log store keeps its compaction: a node restarted
    /// on a durable log that was compacted then refuses to start. With durable stores, use the overload that takes an
    /// <see cref="ISnapshotStore"/> and give it a durable one (or disable snapshots with both thresholds at 0).
    /// </remarks>
    /// <exception cref="ArgumentException">The options are inconsistent; the message names the setting.</exception>
    /// <exception cref="ArgumentNullException">A required argument is null.</exception>
    public RaftNode(
        RaftNodeOptions options,
        ILogStore logStore,
        IHardStateStore hardStateStore,
        IRaftTransport transport,
        IStateMachine stateMachine,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null)
        : this(options, logStore, hardStateStore, new InMemorySnapshotStore(), transport, stateMachine, timeProvider, loggerFactory)
    {
    }

    /// <summary>Creates a node; it does nothing until <see cref="StartAsync"/>.</summary>
    /// <param name="options">The engine's and the runtime's configuration; validated here.</param>
    /// <param name="logStore">The durable log.</param>
    /// <param name="hardStateStore">The durable term, vote and commit index.</param>
    /// <param name="snapshotStore">Keeps the state-machine snapshots this node writes and receives; it must be as durable
    /// as <paramref name="logStore"/>, since the log is compacted behind the snapshots.</param>
    /// <param name="transport">Carries messages to and from the peers; started by <see cref="StartAsync"/>.</param>
    /// <param name="stateMachine">Receives the committed commands.</param>
    /// <param name="timeProvider">The clock driving ticks; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="loggerFactory">Where logs go; none when null.</param>
    /// <exception cref="ArgumentException">The options are inconsistent; the message names the setting.</exception>
    /// <exception cref="ArgumentNullException">A required argument is null.</exception>
    public RaftNode(
        RaftNodeOptions options,
        ILogStore logStore,
        IHardStateStore hardStateStore,
        ISnapshotStore snapshotStore,
        IRaftTransport transport,
        IStateMachine stateMachine,
        TimeProvider? timeProvider = null,
        ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logStore);
        ArgumentNullException.ThrowIfNull(hardStateStore);
        ArgumentNullException.ThrowIfNull(snapshotStore);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(stateMachine);
        options.Validate();

        _options = options;
        _logStore = logStore;
        _hardStateStore = hardStateStore;
        _snapshotStore = snapshotStore;
        _transport = transport;
        _stateMachine = stateMachine;
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)loggerFactory?.CreateLogger<RaftNode>() ?? NullLogger.Instance;
        _readyProcessor = new ReadyProcessor(logStore, hardStateStore, transport, StartSnapshotSend);
        _nodeTag = new KeyValuePair<string, object?>(RaftMetrics.NodeTag, options.Raft.Id);
        _proposals = new ProposalTracker(OnProposalResolved);
        _events = Channel.CreateUnbounded<LoopEvent>(new UnboundedChannelOptions { SingleReader = true });
        _applyQueue = Channel.CreateBounded<ApplyItem>(new BoundedChannelOptions(options.MaxPendingApplyBatches)
        {
            // Not SingleWriter: RequestStop completes it from another thread.
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _status = new RaftStatus(options.Raft.Id, StateRole.Follower, 0, null, null, 0, 0, 0, 0);
        _readTimeoutTicks = (long)(options.ReadTimeout.TotalSeconds * _timeProvider.TimestampFrequency);
        _tickTimestampUnits = Math.Max(1, (long)(options.TickInterval.TotalSeconds * _timeProvider.TimestampFrequency));
        _nextReadId = BinaryPrimitives.ReadInt64LittleEndian(RandomNumberGenerator.GetBytes(sizeof(long))) & (long.MaxValue >> 1);
        _electionTimeout = options.TickInterval * options.Raft.ElectionTick;
        _appliedConfiguration = new Membership.ClusterConfiguration(options.Raft.Voters);
    }

    /// <summary>This node's id.</summary>
    public string Id => _options.Raft.Id;

    /// <summary>The engine's status as the consensus loop last published it.</summary>
    /// <remarks>
    /// The loop publishes it at the end of each iteration, and in its middle while it waits for its writes or for the
    /// state machine, and before a committed membership change goes to the state machine: a change that returned
    /// (<see cref="ChangeMembershipAsync"/>) finds its configuration here. Published in the middle of a ready, it may
    /// show a term, vote or leader whose hard state is not durable yet.
    /// </remarks>
    public RaftStatus Status => _status;

    /// <summary>The role, known leader and term of the <see cref="Status"/> the consensus loop last published.</summary>
    public SoftState SoftState
    {
        get
        {
            var status = _status;
            return new SoftState(status.Role, status.LeaderId, status.Term);
        }
    }

    /// <summary>True when this node led in the <see cref="Status"/> the consensus loop last published.</summary>
    public bool IsLeader => _status.Role == StateRole.Leader;

    /// <summary>
    /// Completes when the node has stopped: successfully after <see cref="StopAsync"/>, faulted with the failure when
    /// a store, the state machine or the engine failed.
    /// </summary>
    public Task Completion => _completion.Task;

    /// <summary>
    /// Recovers the durable state from the stores and starts the transport, the consensus loop, the applier and the
    /// ticker. Recovery restores the state machine from the newest snapshot in the snapshot store, if any, and reads the
    /// log after it; a log that ends before the snapshot or disagrees with it at the snapshot's index is reset to start
    /// after it (those entries cannot be committed), and a hard state older than the snapshot's term is raised to it.
    /// </summary>
    /// <param name="cancellationToken">Cancels the recovery.</param>
    /// <returns>A task that completes once the node runs.</returns>
    /// <exception cref="InvalidOperationException">The node was already started or stopped, the stored log was compacted
    /// but no snapshot covers the compacted part, the log has a hole after the snapshot, or the newest snapshot could
    /// not be opened or restored (the inner exception says why).</exception>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, Running, NotStarted) != NotStarted)
        {
            throw new InvalidOperationException($"Raft node '{Id}' was already started; a node starts once (create a new one to restart).");
        }

        try
        {
            var initialState = await RecoverAsync(cancellationToken).ConfigureAwait(false);
            _rawNode = new RawNode(_options.Raft, initialState, ReadStable);
            _status = _rawNode.Status;
            _transport.Start(new MessageHandler(this));
        }
        catch (Exception ex)
        {
            Log.StartFailed(_logger, ex, Id);
            _failure = ex;
            Volatile.Write(ref _state, Stopped);
            _events.Writer.TryComplete();
            _completion.TrySetException(ex);
            throw;
        }

        // The ticker exists before the supervisor can run, so a node that fails at once still disposes it.
        _ticker = _timeProvider.CreateTimer(static state => ((RaftNode)state!).OnTimer(), this, _options.TickInterval, _options.TickInterval);
        _logWriteThread = new LogWriteThread(Id, _options.LogWriteThreadSlice);
        _loopTask = Task.Run(RunLoopAsync, CancellationToken.None);
        _applierTask = Task.Run(RunApplierAsync, CancellationToken.None);
        _ = SuperviseAsync();
        Log.NodeStarted(_logger, Id, string.Join(",", _options.Raft.Voters), _options.TickInterval);
    }

    /// <summary>
    /// Stops the node; every proposal, read and request still pending fails with <see cref="RaftNodeStoppedException"/>.
    /// A leader first hands leadership to an up-to-date voter that answered recently (unless
    /// <see cref="RaftNodeOptions.TransferLeadershipOnStop"/> is false), waiting at most about an election timeout; if
    /// the transfer fails, the node stops anyway and the cluster elects a leader after an election timeout.
    /// </summary>
    /// <returns>A task that completes once the loop and the applier have stopped. It does not fault: a failure that
    /// stopped the node earlier is reported by <see cref="Completion"/>.</returns>
    public async Task StopAsync()
    {
        if (Interlocked.CompareExchange(ref _state, Stopped, NotStarted) == NotStarted)
        {
            _events.Writer.TryComplete();
            _completion.TrySetResult();
            return;
        }

        if (Interlocked.Exchange(ref _stopRequested, 1) == 0 && !_stopping.IsCancellationRequested)
        {
            Log.NodeStopping(_logger, Id);
            if (_options.TransferLeadershipOnStop && IsLeader)
            {
                await TransferBeforeStopAsync().ConfigureAwait(false);
            }
        }

        RequestStop();
        try
        {
            await _completion.Task.ConfigureAwait(false);
        }
        catch (Exception) when (_failure is not null)
        {
            // Already reported through Completion and the critical log entry.
        }
    }

    /// <summary>Stops the node, as <see cref="StopAsync"/>.</summary>
    /// <returns>A task that completes once the node has stopped.</returns>
    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    /// <summary>Proposes a command and waits until it is applied on this node.</summary>
    /// <param name="command">The command; the caller must not change the bytes afterwards.</param>
    /// <param name="cancellationToken">Abandons the wait only: the command may still be committed and applied.</param>
    /// <returns>The log index and the state machine's result, once the command was applied on this node.</returns>
    /// <remarks>
    /// Resolves exactly once and never waits forever: it fails fast with <see cref="NotLeaderException"/> (with the
    /// known leader) or <see cref="ProposalDroppedException"/>, later with <see cref="ProposalSupersededException"/>
    /// when another entry took its place, or with <see cref="RaftNodeStoppedException"/> when the node stops first.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="command"/> is larger than <see cref="RaftOptions.MaxEntrySize"/>.</exception>
    /// <exception cref="InvalidOperationException">The node was not started.</exception>
    public Task<ProposalResult> ProposeAsync(ReadOnlyMemory<byte> command, CancellationToken cancellationToken = default)
    {
        if (command.Length > _options.Raft.MaxEntrySize)
        {
            throw new ArgumentException(
                $"The command is {command.Length} bytes, more than RaftOptions.MaxEntrySize ({_options.Raft.MaxEntrySize}).", nameof(command));
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<ProposalResult>(cancellationToken);
        }

        if (Volatile.Read(ref _state) == NotStarted)
        {
            throw new InvalidOperationException($"Raft node '{Id}' is not started; call StartAsync first.");
        }

        var proposal = new PendingProposal(command, Stopwatch.GetTimestamp());
        if (!_events.Writer.TryWrite(new LoopEvent(LoopEventKind.Propose, proposal)))
        {
            return Task.FromException<ProposalResult>(RaftNodeStoppedException.For(Id, _failure));
        }

        return cancellationToken.CanBeCanceled ? proposal.Task.WaitAsync(cancellationToken) : proposal.Task;
    }

    /// <summary>Waits until this node knows a leader (itself or a peer) and returns its id.</summary>
    /// <param name="cancellationToken">Abandons the wait.</param>
    /// <returns>The id of the leader this node knows.</returns>
    /// <exception cref="RaftNodeStoppedException">The node stopped first.</exception>
    public Task<string> WaitForLeaderAsync(CancellationToken cancellationToken = default)
    {
        Task<string> wait;
        lock (_lock)
        {
            if (Volatile.Read(ref _state) == Stopped || _stopping.IsCancellationRequested)
            {
                return Task.FromException<string>(RaftNodeStoppedException.For(Id, _failure));
            }

            if (_status.LeaderId is { } leaderId)
            {
                return Task.FromResult(leaderId);
            }

            _leaderWaiter ??= new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _leaderWaiter.Task;
        }

        return cancellationToken.CanBeCanceled ? wait.WaitAsync(cancellationToken) : wait;
    }

    // Publishes the loop's view; a change of leader goes under the lock so a concurrent WaitForLeaderAsync either sees
    // the new status or has its waiter completed here.
    private void PublishStatus(RaftStatus status)
    {
        var previous = _status;
        if (status.LeaderId == previous.LeaderId)
        {
            _status = status;
            return;
        }

        lock (_lock)
        {
            _status = status;
            if (status.LeaderId is { } leaderId && _leaderWaiter is { } waiter)
            {
                _leaderWaiter = null;
                waiter.TrySetResult(leaderId);
            }
        }
    }

    private void OnProposalResolved(TaskCompletionSource<ProposalResult> completion, long index)
    {
        if (RaftMetrics.CommitLatency.Enabled && completion is PendingProposal proposal)
        {
            RaftMetrics.CommitLatency.Record(Stopwatch.GetElapsedTime(proposal.StartTimestamp).TotalMilliseconds, _nodeTag);
        }
    }

    // Cancels first, then completes both queues: the loop and the applier wait on the queues without a token and
    // check the token once woken.
    private void RequestStop()
    {
        try
        {
            _stopping.Cancel();
        }
        catch (AggregateException)
        {
            // A cancellation callback threw; the node stops regardless.
        }

        _events.Writer.TryComplete();
        _applyQueue.Writer.TryComplete();
    }

    private void Fail(Exception exception, string stage)
    {
        if (Interlocked.CompareExchange(ref _failure, exception, null) is null)
        {
            Log.NodeFailed(_logger, exception, Id, stage);
        }

        RequestStop();
    }

    // Runs once the loop and the applier have ended: fails whatever is still waiting, then completes Completion.
    private async Task SuperviseAsync()
    {
        await Task.WhenAll(_loopTask, _applierTask).ConfigureAwait(false);
        _logWriteThread?.Dispose();
        Volatile.Write(ref _state, Stopped);
        if (_ticker is { } ticker)
        {
            await ticker.DisposeAsync().ConfigureAwait(false);
        }

        var stopped = RaftNodeStoppedException.For(Id, _failure);
        var failed = FailUnregistered(stopped);
        FailLoopRequests(stopped);
        lock (_lock)
        {
            failed += _proposals.Count;
            _proposals.FailAll(stopped);
            FailReadWaiters(stopped);
            _leaderWaiter?.TrySetException(stopped);
            _leaderWaiter = null;
        }

        Log.NodeStopped(_logger, Id, failed);
        if (_failure is { } failure)
        {
            _completion.TrySetException(failure);
        }
        else
        {
            _completion.TrySetResult();
        }
    }

    private sealed class MessageHandler(RaftNode node) : IRaftMessageHandler
    {
        public void Receive(Message message) => node._events.Writer.TryWrite(new LoopEvent(LoopEventKind.Message, message));

        public void ReportUnreachable(string nodeId) => node._events.Writer.TryWrite(new LoopEvent(LoopEventKind.Unreachable, nodeId));

        public Task ReceiveSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default) =>
            node.ReceiveSnapshotAsync(message, data, cancellationToken);
    }

    // The completion of one proposal, carrying what the loop needs to propose it and when it entered the node.
    private sealed class PendingProposal(ReadOnlyMemory<byte> command, long startTimestamp)
        : TaskCompletionSource<ProposalResult>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public ReadOnlyMemory<byte> Command { get; } = command;

        public long StartTimestamp { get; } = startTimestamp;
    }
}
