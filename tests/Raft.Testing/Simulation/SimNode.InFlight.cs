using Raft.Core.Engine;
using Raft.Core.Messages;
using Raft.Core.Runtime;
using Raft.Testing.Simulation.Invariants;

namespace Raft.Testing.Simulation;

/// <summary>
/// A leader's own writes in flight, as <see cref="RaftNode"/> runs them (<see cref="WhilePersisting"/>): the leader
/// steps its followers' acknowledgements while its append is on the way to the disk and applies what they commit at
/// once, and takes client proposals; every other input waits for the append.
/// </summary>
/// <remarks>
/// <para>
/// A ready that <see cref="WhilePersisting.Allowed"/> admits and that has entries to write goes to
/// <see cref="ReadyProcessor.PersistAndSendAsync"/> as any other: its messages leave at once, and the log store's
/// append returns an incomplete task that a <see cref="DiskWriteEvent"/> completes after a simulated disk latency
/// (<see cref="SimulationOptions.MinLeaderWriteMicros"/>). Until then, a message <see cref="WhilePersisting.CanStep"/>
/// accepts is stepped at once and the entries <see cref="RawNode.TakeCommittedEntries"/> hands out are applied, reads
/// served and perhaps a snapshot taken (its compaction waits, as the runtime's does); a client proposal is proposed and
/// registered at once. What either makes for the followers leaves at once (<see cref="RawNode.TakeMessages"/>); entries
/// proposed meanwhile are written with the next ready (until then <see cref="EngineLog"/> shows them after the durable
/// log). Anything else (messages, ticks, reads, membership operations, transfers, snapshot streams) queues up and is
/// handled, in arrival order, once the ready is advanced and before the next ready (as the runtime does: see
/// <see cref="HandleDeferred"/>). Ticks meanwhile are counted, and a leader gets them all; it heartbeats on them
/// meanwhile (<see cref="WhilePersisting.HeartbeatDue"/>).
/// </para>
/// <para>
/// Applying here never waits (there is no bounded apply queue), so the runtime's wait for room in a full one, during
/// which a node steps as it does while it writes (<c>RaftNode.WaitForApplyRoomAsync</c>), is covered by the runtime's
/// unit tests only (<c>RaftNodeCheckQuorumTests</c>, <c>RaftNodeFollowerWhilePersistingTests</c>).
/// </para>
/// <para>
/// So a leader may apply, and snapshot, entries its own log does not hold yet. A crash may strike while the append is
/// in flight (it then reached the disk or not, as a concurrent write of a ready does: <see cref="DecideConcurrentWriteFate"/>),
/// between stepping and applying, or while applying; a restart may find a snapshot past the end of its log (see <see cref="Start"/>).
/// </para>
/// </remarks>
internal sealed partial class SimNode
{
    // Inputs that arrived while the writes ran and may not be stepped before they end, in arrival order, each with
    // what to tell its sender when the node stops first (null: nobody waits for it). Invariant: empty unless _inFlight
    // is set, or while they are being handled.
    private readonly Queue<(Action<SimNode> Input, Action? Abandon)> _deferred = new();

    // The ready whose writes are running, with the task ReadyProcessor returned for them; null when none is.
    private InFlightReady? _inFlight;

    // Set just before a ready that may stay in flight goes to ReadyProcessor; the log store's append takes it.
    private bool _delayAppend;

    // Timer firings not yet handed to the engine; a tick input waits (or runs) while this is above 0 (see Tick).
    private int _ticksPending;

    // _ticksPending when a leader last heartbeat while its writes ran, 0 since the last tick taken (see HeartbeatWhileWriting).
    private int _firedAtLastBeat;

    // Entries (index, term) this incarnation proposed while its writes ran, until applied; for the coverage counts.
    private readonly HashSet<(long Index, long Term)> _proposedWhileWriting = [];

    // The newest snapshot this node took past the end of its durable log (a leader applying ahead of its own append),
    // kept across crashes so that a restart can tell that case in the trace and the counts; null when the newest it took was not.
    private SnapshotMetadata? _snapshotTakenPastLog;

    // The entries of the ready being handled, from GetReady until its writes end: the engine's log is the durable
    // log with these written over it. Null when the durable log is the engine's whole log.
    private IReadOnlyList<Entry>? _writing;

    /// <summary>Whether a leader's or a follower's writes are in flight.</summary>
    public bool IsWriting => _inFlight is not null;

    /// <summary>The first index the append in flight writes; null when none is in flight.</summary>
    public long? WritingFrom => _inFlight is { Ready.Entries: [var first, ..] } ? first.Index : null;

    /// <summary>The log as the engine holds it: the durable log, with the entries of the ready being written over it.</summary>
    public ILogView EngineLog { get; }

    /// <summary>Called by the log store for each append: whether this one stays in flight until the disk event.</summary>
    public bool TakeAppendDelay()
    {
        var delay = _delayAppend;
        _delayAppend = false;
        return delay;
    }

    /// <summary>The disk event of this node's append in flight: the append lands, the ready completes, deferred inputs run.</summary>
    /// <param name="incarnation">The incarnation that started the append; a later one ignores the event.</param>
    public void OnDiskWrite(int incarnation)
    {
        if (!IsUp || incarnation != Incarnation || _inFlight is not { } flight)
        {
            return;
        }

        try
        {
            // Completing the append continues ReadyProcessor inline (it sends the ready's persisted messages); an await
            // continues inline only where no SynchronizationContext is set (a test runner's thread may have one), so
            // none is while it completes.
            var context = SynchronizationContext.Current;
            SynchronizationContext.SetSynchronizationContext(null);
            try
            {
                Log.LandDelayedAppend();
            }
            finally
            {
                SynchronizationContext.SetSynchronizationContext(context);
            }

            _inFlight = null;
            if (!flight.Persist.IsCompleted)
            {
                throw new InvalidOperationException("ReadyProcessor.PersistAndSendAsync did not complete inline when its append did; the simulation cannot wait on it.");
            }

            flight.Persist.GetAwaiter().GetResult();
            FinishReady(flight.Ready, flight.AppliedFirst);
            HandleDeferred();
        }
        catch (SimulatedCrashException crash)
        {
            Crash(crash.Message);
            _sim.ScheduleRestart(this);
        }
    }

    // The ready may stay in flight: a leader's or a follower's ready that WhilePersisting admits, with entries to write
    // (without them no write runs). `leading` is the engine's role with the ready taken: the leader's rule requires the
    // ready to carry no soft state (so it led before too), or to be the one that made it leader in a term already
    // durable (NewLeaderAllowed: the hard-state store holds the term saved before the ready); the follower's rule looks
    // at the state with the ready taken (the engine's status now), as RaftNode's loop does.
    private bool MayStayInFlight(Ready ready, bool leading)
    {
        if (ready.Entries.Count == 0)
        {
            return false;
        }

        var status = _raw!.Status;
        return leading
            ? _sim.Options.MaxLeaderWriteMicros > 0 && (WhilePersisting.Allowed(ready, leading) || WhilePersisting.NewLeaderAllowed(ready, HardState.State.Term))
            : _sim.Options.MaxFollowerWriteMicros > 0 && WhilePersisting.FollowerAllowed(ready, status.Role == StateRole.Follower, status.LeaderId);
    }

    // ReadyProcessor returned before the append landed: the ready stays out until the disk event.
    private void StartInFlight(Ready ready, ValueTask persist, bool appliedFirst)
    {
        if (!Log.HasDelayedAppend)
        {
            throw new InvalidOperationException("ReadyProcessor.PersistAndSendAsync did not complete over synchronous stores; the simulation cannot wait on it.");
        }

        var status = _raw!.Status;
        var leading = status.Role == StateRole.Leader;
        _inFlight = new InFlightReady(ready, persist, appliedFirst, status.Term, leading ? null : status.LeaderId, NewLeader: ready.SoftState is not null && leading);
        var latency = leading
            ? Random.NextLong(_sim.Options.MinLeaderWriteMicros, _sim.Options.MaxLeaderWriteMicros + 1)
            : Random.NextLong(_sim.Options.MinFollowerWriteMicros, _sim.Options.MaxFollowerWriteMicros + 1);
        _sim.OnWriteInFlight(this, ready, latency, leading);
        _sim.Schedule(latency, new DiskWriteEvent(Index, Incarnation));
    }

    // A leader's writes run: a follower's acknowledgement is stepped, then what it committed is applied, after
    // everything applied so far (the ready's own committed entries went before its writes). A follower's writes run:
    // its leader's heartbeat is stepped and answered at once; what it commits is applied with the next ready. False:
    // the message must wait like the rest.
    private bool TryStepWhileWriting(Message message)
    {
        if (_inFlight is { FollowedLeader: { } leaderId } following)
        {
            if (!WhilePersisting.CanStepAsFollower(message, following.Term, leaderId))
            {
                return false;
            }

            // As RaftNode: the firings that came before the heartbeat do not count against the timeout it restarts (a
            // lease the follower grants with its answer could otherwise end a tick early for it). Not caught here without
            // it in 2,000 seeds of lease reads with perfect clocks and slow follower disks: the election, the write and
            // the stale read must all fit in that tick; RaftNodeFollowerWhilePersistingTests pins the runtime's rule.
            _ticksPending = 0;

            _raw!.Step(message);
            _sim.OnHeartbeatAnsweredWhileWriting(this, message);
            SendTakenMessages();
            return true;
        }

        if (_inFlight is not { } flight || _sim.Options.DeferAcknowledgementsWhileWriting || !WhilePersisting.CanStep(message, flight.Term))
        {
            return false;
        }

        try
        {
            _raw!.Step(message);
            SendTakenMessages();
            if (flight.NewLeader)
            {
                // What it commits comes with its next ready, as in RaftNode's loop.
                return true;
            }

            var committed = _raw.TakeCommittedEntries();
            if (committed.Count == 0)
            {
                return true;
            }

            // Learn the commit before anything is applied (or snapshotted) on its strength.
            _sim.ObserveCommit(this);
            _sim.Trace($"{Id} applies {committed[0].Index}..{committed[^1].Index}, committed while its append runs (its durable log ends at {Log.LastIndex})");
            MaybeCrash("after stepping an acknowledgement while its append runs, before applying what it committed");
            foreach (var entry in committed)
            {
                MaybeCrash($"before applying {entry} while its append runs");
                var aheadOfOwnLog = entry.Index > Log.LastIndex;
                Apply(entry);
                _sim.OnAppliedWhileWriting(aheadOfOwnLog);
            }

            ServeAppliedReads();
            MaybeSnapshot();
        }
        catch (SimulatedCrashException crash)
        {
            Crash(crash.Message);
            _sim.ScheduleRestart(this);
        }

        return true;
    }

    // A client proposal while the writes run: taken at once, as the runtime does (WhilePersisting), registered before
    // its AppendEntries leave; its entry is written with the next ready. False: it must wait like the rest.
    private bool TryProposeWhileWriting(byte[] command, Action<ProposeOutcome, Task<ProposalResult>?> then)
    {
        if (_inFlight is not { FollowedLeader: null, NewLeader: false } || _sim.Options.DeferAcknowledgementsWhileWriting)
        {
            return false;
        }

        var outcome = _raw!.Propose(command);
        Track(outcome, then);
        if (outcome.IsAccepted)
        {
            _proposedWhileWriting.Add((outcome.Index, outcome.Term));
            _sim.OnProposedWhileWriting(this, outcome.Index);
        }

        SendTakenMessages();
        return true;
    }

    // A leader's writes run and its ticks wait: as RaftNode's loop, it sends a heartbeat round every HeartbeatTick
    // firings not yet taken as ticks, for up to an election timeout of them (WhilePersisting.HeartbeatDue), so that a long
    // write of its own does not make its followers campaign but a hung one does. The ticks come after the writes.
    private void HeartbeatWhileWriting()
    {
        if (_inFlight is not { FollowedLeader: null } || _sim.Options.LoseLeaderTicksWhileWriting
            || !WhilePersisting.HeartbeatDue(_ticksPending, _ticksPending - _firedAtLastBeat, _sim.Options.HeartbeatTick, _sim.Options.ElectionTick))
        {
            return;
        }

        _firedAtLastBeat = _ticksPending;
        _raw!.Heartbeat();
        _sim.OnHeartbeatWhileWriting(this);
        SendTakenMessages();
    }

    // What stepping or proposing made for the followers leaves at once (RawNode.TakeMessages), not after the writes.
    private void SendTakenMessages() => _processor!.Send(_raw!.TakeMessages());

    // Counts an entry proposed while a leader's writes ran that is applied, so committed, before its own log holds it.
    private void OnAppliedProposedWhileWriting(Entry entry)
    {
        if (_proposedWhileWriting.Remove((entry.Index, entry.Term)))
        {
            _sim.OnAppliedProposedWhileWriting(aheadOfOwnLog: entry.Index > Log.LastIndex);
        }
    }

    // Every input but a steppable acknowledgement or a proposal goes through here: handled now, or queued while the writes run.
    private void Submit(Action<SimNode> input, Action? abandon)
    {
        if (_inFlight is not null)
        {
            _deferred.Enqueue((input, abandon));
            return;
        }

        Run(input);
    }

    // The writes ended: as in RaftNode's loop, every input that waited goes to the engine, in arrival order, before the
    // next ready. Proposals taken while writing have made one already; were it taken first, a leader under steady load
    // would put append after append in flight ahead of the waiting inputs (ticks, vote requests, messages of other
    // terms) and starve elections and reads for as long as proposals keep coming (slow-disk seed 9).
    private void HandleDeferred()
    {
        while (IsUp && _inFlight is null && _deferred.TryDequeue(out var next))
        {
            next.Input(this);
        }

        if (IsUp)
        {
            HandleReadies();
        }
    }

    // The node stops with an append in flight: on a crash it reached the disk or not, like any write running then;
    // a clean stop waits for it.
    private void EndAppendInFlight(string reason, bool crash)
    {
        if (Log.HasDelayedAppend)
        {
            var landed = !crash || DecideConcurrentWriteFate() == WriteFate.CrashAfter;
            var entries = Log.EndDelayedAppend(landed);
            _sim.OnStoppedWhileWriting(this, entries, landed, reason);
        }

        _inFlight = null;
        _delayAppend = false;
        _ticksPending = 0;
        _firedAtLastBeat = 0;
        _proposedWhileWriting.Clear();
        _writing = null;
    }

    // The node stopped: the inputs still waiting are dropped, and whoever waits for one is told it never reached the
    // engine (so it did not happen).
    private void AbandonDeferred()
    {
        while (_deferred.TryDequeue(out var deferred))
        {
            deferred.Abandon?.Invoke();
        }
    }

    // FollowedLeader: the leader a follower's writes run under; null for a leader's own writes.
    // NewLeader: the ready made this node leader (WhilePersisting.NewLeaderAllowed): acknowledgements are stepped and
    // heartbeats sent meanwhile, but no proposal is taken and no committed entry handed out before it is advanced.
    private sealed record InFlightReady(Ready Ready, ValueTask Persist, bool AppliedFirst, long Term, string? FollowedLeader, bool NewLeader);

    /// <summary>
    /// The durable log with the entries being written laid over it, then those the engine holds and has not handed out
    /// in a ready yet (proposed while the writes ran, or waiting to be sent: RaftState.PersistThrough): what the engine holds.
    /// </summary>
    private sealed class EngineLogView(SimNode owner) : ILogView
    {
        public long BaseIndex => owner.Log.BaseIndex;

        public long BaseTerm => owner.Log.BaseTerm;

        public long LastIndex =>
            Held() is { } held ? held.Last
            : owner._writing is { Count: > 0 } writing ? writing[^1].Index
            : owner.Log.LastIndex;

        public Entry? At(long index)
        {
            if (Held() is { } held && index > held.HandedOut)
            {
                return index <= held.Last ? owner._raw!.EntryAt(index) : null;
            }

            if (owner._writing is { Count: > 0 } writing && index >= writing[0].Index)
            {
                return index <= writing[^1].Index ? writing[(int)(index - writing[0].Index)] : null;
            }

            return owner.Log.At(index);
        }

        // The engine's entries after the last one it handed out, when it holds any.
        private (long HandedOut, long Last)? Held()
        {
            if (owner._raw is not { } raw)
            {
                return null;
            }

            var last = raw.LastIndex;
            var handedOut = raw.HandedOutThrough;
            return last > handedOut ? (handedOut, last) : null;
        }
    }
}
