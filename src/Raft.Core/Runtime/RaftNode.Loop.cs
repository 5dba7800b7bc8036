using System.Diagnostics;
using System.Threading.Channels;
using Raft.Core.Engine;
using Raft.Core.Messages;

namespace Raft.Core.Runtime;

// The consensus loop: the only code that touches the engine.
public sealed partial class RaftNode
{
    // Proposals (commands and configuration changes) the engine accepted in the current iteration, registered with the
    // tracker in one lock before the iteration's ready is taken (so before any of them can be committed and applied).
    private readonly List<(long Index, long Term, TaskCompletionSource<ProposalResult> Proposal)> _accepted = [];
    private RawNode? _rawNode;

    // Timer firings already pending when this node became leader, in the term it became leader in (see HandleTicks);
    // loop only.
    private int _ticksBeforeLeadership;
    private long _leadershipNotedInTerm;

    // Lease reads: when this node became leader (monotonic timestamp), and the ticks it took as leader since then; a
    // leader's ticks then follow the clock, not the timer's firings (see LeaseTicksDue). Loop only.
    private long _leadershipStartedAt;
    private long _leaseTicksTaken;

    // Lease reads: when this node, a follower, last took a message from its leader (monotonic timestamp), and the ticks
    // it took since; a follower's ticks may then not outrun its clock from there (see FollowerTickDue). Loop only.
    private long _leaderContactAt;
    private long _ticksSinceLeaderContact;

    // Timer firings not yet handed to the engine; one tick event is queued while this is above 0 (one per firing while
    // _beatWhileWaiting is set). A loop that falls behind (a long fsync, a pause) catches up on a leader and loses them
    // elsewhere (see HandleTicks).
    private int _ticksPending;

    // Set while a leader's loop waits for its own writes or for room in the apply queue: its ticks wait, but every
    // firing wakes the loop so that it can heartbeat (see StepWhilePersistingAsync).
    private volatile bool _beatWhileWaiting;

    // Loop only: _ticksPending when the last heartbeat sent while the ticks waited left, 0 since the last tick taken.
    private int _firedAtLastBeat;

    // Loop only: this node's appends that took less than a tick, in a row (see MayWriteInline).
    private int _quickWritesInARow;

    private const int QuickWritesToTrust = 100;

    private const int LoneWriteEntries = 4;

    // The role and term of the latest Ready that carried a SoftState; loop only.
    private SoftState _softState;

    // Events taken while a leader's writes ran that had to wait for them (see WhilePersisting); handled before any
    // event still in the channel, in the order they arrived. Loop only.
    private readonly Queue<LoopEvent> _deferred = new();

    // Proposals among _deferred: while any waits there, a newer one waits behind it rather than being proposed at once
    // (a new leader's first write defers them, and late ticks or a lease catch-up may then step the channel first).
    private int _deferredProposals;

    private enum LoopEventKind : byte
    {
        Propose,
        Message,
        Tick,
        Unreachable,
        Read,
        ConfigChange,
        Transfer,
        SnapshotWritten,
        SnapshotSent,

        // The writes of a ready ended; the payload is their task, so a late one is told from the current one.
        Persisted,
    }

    private void OnTimer()
    {
        if ((Interlocked.Increment(ref _ticksPending) == 1 || _beatWhileWaiting) && !_events.Writer.TryWrite(new LoopEvent(LoopEventKind.Tick, null)))
        {
            // Stopping: the channel is closed.
            Volatile.Write(ref _ticksPending, 0);
        }
    }

    private async Task RunLoopAsync()
    {
        var rawNode = _rawNode!;
        var reader = _events.Reader;
        var token = _stopping.Token;
        var stage = "engine";
        var initial = rawNode.Status;
        _softState = new SoftState(initial.Role, initial.LeaderId, initial.Term);
        try
        {
            // No token on the wait: a cancellable wait allocates on every call, and stopping completes the channel,
            // which wakes the wait anyway.
            while (!token.IsCancellationRequested && (_deferred.Count > 0 || await reader.WaitToReadAsync().ConfigureAwait(false)))
            {
                stage = "engine";
                var taken = 0;
                while (taken < _options.MaxEventsPerIteration && !token.IsCancellationRequested && _deferred.TryDequeue(out var deferred))
                {
                    _deferredProposals -= deferred.Kind == LoopEventKind.Propose ? 1 : 0;
                    Handle(rawNode, deferred);
                    taken++;
                }

                while (taken < _options.MaxEventsPerIteration && !token.IsCancellationRequested && reader.TryRead(out var loopEvent))
                {
                    Handle(rawNode, loopEvent);
                    taken++;

                    // A leader's late ticks moved the events behind them to _deferred (StepWaitingAcknowledgements),
                    // which go first: reading on would take newer events before them.
                    if (_deferred.Count > 0)
                    {
                        break;
                    }
                }

                RegisterAccepted();

                // After every event of the iteration, so that all reads that arrived meanwhile share one request.
                IssueReadBatch(rawNode);

                while (!token.IsCancellationRequested && rawNode.HasReady())
                {
                    stage = "engine";
                    var ready = rawNode.GetReady();
                    if (ready.SoftState is { } softState)
                    {
                        Log.RoleChanged(_logger, Id, softState.Role, softState.Term, softState.LeaderId);
                    }

                    if (ready.Entries.Count > 0)
                    {
                        RaftMetrics.ReadyEntries.Record(ready.Entries.Count, _nodeTag);
                    }

                    var isLeader = _softState.Role == StateRole.Leader;
                    var leaderSteps = WhilePersisting.Allowed(ready, isLeader);
                    var after = ready.SoftState ?? _softState;
                    var followerMayAnswer = WhilePersisting.FollowerAllowed(ready, after.Role == StateRole.Follower, after.LeaderId);
                    var newLeader = !leaderSteps && WhilePersisting.NewLeaderAllowed(ready, _softState.Term);

                    // Committed entries go to the applier before this ready's writes when that is safe (see
                    // WhilePersisting.AppliesFirst), so the leader's answer does not also wait for its own fsync. Not
                    // when the apply queue is full: they then go after the writes, where the loop waits for room as it
                    // waits for the writes (WaitForApplyRoomAsync); here the ready's own messages have not left yet.
                    // Either way a membership change among them is published in Status first (PublishBeforeApplying).
                    var applyFirst = WhilePersisting.AppliesFirst(ready, isLeader);
                    if (applyFirst)
                    {
                        PublishBeforeApplying(rawNode, ready.CommittedEntries);
                        applyFirst = _applyQueue.Writer.TryWrite(new ApplyItem(ready.CommittedEntries, null));
                    }

                    stage = "log store, hard-state store or transport";
                    var onLogWriteThread = AppendsOnLogWriteThread(leaderSteps || newLeader || (followerMayAnswer && !MayWriteInline(ready)));
                    var stepWhilePersisting = leaderSteps || newLeader || (followerMayAnswer && onLogWriteThread);
                    // Set before the writes start: every firing from then on wakes the loop.
                    _beatWhileWaiting = leaderSteps || newLeader;
                    var writeStarted = Stopwatch.GetTimestamp();
                    try
                    {
                        var persist = _readyProcessor.PersistAndSendAsync(ready, onLogWriteThread ? _logWriteThread : null, token);
                        if (!persist.IsCompleted && stepWhilePersisting)
                        {
                            // Entries committed meanwhile may go to the applier only after this ready's own.
                            var takeCommitted = applyFirst || ready.CommittedEntries.Count == 0;
                            if (newLeader)
                            {
                                // The followers' answers stepped meanwhile go into the new term's book (replication
                                // status), which OnSoftStateChanged would otherwise start only after the writes.
                                OnLeadershipChanged(after);
                            }

                            await StepWhilePersistingAsync(rawNode, after, persist.AsTask(), takeCommitted, newLeader, token).ConfigureAwait(false);
                        }
                        else
                        {
                            await persist.ConfigureAwait(false);
                        }
                    }
                    finally
                    {
                        _beatWhileWaiting = false;
                    }

                    NoteWrite(ready, Stopwatch.GetElapsedTime(writeStarted));

                    // The snapshot's state replaces the state machine's before the entries after it are applied.
                    if (ready.Snapshot is { } snapshot)
                    {
                        await EnqueueApplyAsync(new ApplyItem(null, snapshot), token).ConfigureAwait(false);
                    }

                    // A batch the apply queue has no room for waits after Advance when this node may step meanwhile
                    // (WaitForApplyRoomAsync); the engine then knows the ready's writes are durable (its term, its
                    // leader's own copy), so that its answers and commits need not wait for the applier too.
                    ApplyItem? waitsForRoom = null;
                    if (!applyFirst && ready.CommittedEntries.Count > 0)
                    {
                        PublishBeforeApplying(rawNode, ready.CommittedEntries);
                        var item = new ApplyItem(ready.CommittedEntries, null);
                        if (!(leaderSteps || followerMayAnswer))
                        {
                            await EnqueueApplyAsync(item, token).ConfigureAwait(false);
                        }
                        else if (!_applyQueue.Writer.TryWrite(item))
                        {
                            waitsForRoom = item;
                        }
                    }

                    stage = "engine";
                    if (ready.ReadStates.Count > 0)
                    {
                        // Before the role change below: these were confirmed while this node still led.
                        OnReadStates(ready.ReadStates);
                    }

                    if (ready.SoftState is { } changed)
                    {
                        OnSoftStateChanged(rawNode, changed);
                    }

                    rawNode.Advance(ready);
                    if (waitsForRoom is { } waiting)
                    {
                        // Nothing takes committed entries before the next ready, so this batch still goes first.
                        await WaitForApplyRoomAsync(rawNode, waiting, after, token).ConfigureAwait(false);
                    }

                    // Inputs that waited for the writes (ticks, votes, other terms, reads...) go before the next ready:
                    // proposals taken meanwhile make one at once, and under steady load the next write would start
                    // before them again and again, starving elections and reads (simulator seed 9 with slow disks).
                    if (_deferred.Count > 0)
                    {
                        break;
                    }
                }

                if (_pendingCompaction is { } compaction)
                {
                    _pendingCompaction = null;
                    stage = "log store";
                    await CompactLogAsync(rawNode, compaction, token).ConfigureAwait(false);
                }

                var status = rawNode.Status;
                PublishStatus(status);
                CheckTransfers(status);
            }
        }
        catch (Exception ex) when (token.IsCancellationRequested && ex is OperationCanceledException or ChannelClosedException)
        {
            // Stopping.
        }
        catch (Exception ex)
        {
            Fail(ex, stage);
        }
    }

    // Where a ready's append runs. The log store may hold its caller through an fsync (the FASTER store does). A leader
    // that keeps stepping while its writes run must not be that caller. Otherwise the caller is this loop, on a
    // thread-pool thread: when work is waiting for the pool, an fsync there would hold back that work (the transport's,
    // the applier's, the host's; a 2-core machine has two pool threads), so the append moves to the node's own thread;
    // when none is waiting, it runs here and spares the wake-up of that thread, which a lone write would wait for.
    internal static bool AppendsOnLogWriteThread(bool stepWhilePersisting) =>
        stepWhilePersisting || ThreadPool.PendingWorkItemCount > 0;

    // Whether a follower may run its append on this loop (when the pool is idle: see AppendsOnLogWriteThread), where it
    // answers nothing until the write ends: only a lone write (a few entries: the latency case, where the hand-over to
    // the node's own thread costs ~0.1 ms of a ~1 ms commit on this 2-core machine; a batch hardly notices it), and only
    // once its disk has proven quick (QuickWritesToTrust writes in a row under a tick each). Otherwise (a cold start,
    // since a slow write, a batch) its appends run on its own thread and it answers its leader's heartbeats meanwhile
    // (WhilePersisting.FollowerAllowed), so that a stalled disk does not make it look dead to check-quorum.
    private bool MayWriteInline(Ready ready) => ready.Entries.Count <= LoneWriteEntries && _quickWritesInARow >= QuickWritesToTrust;

    // This node's own writes are running (or its wait for room in the apply queue: see WaitForApplyRoomAsync). A leader
    // steps its followers' acknowledgements as they come and hands what they commit to the applier at once (with
    // `takeCommitted`, and while the apply queue has room; otherwise those entries come with the next ready), takes
    // proposals and sends what both make at once, and keeps heartbeating on its timer while its ticks wait
    // (WhilePersisting.HeartbeatDue); a follower answers its leader's heartbeats (their commit index waits for the next
    // ready). Every other event waits in _deferred (see WhilePersisting). Returns once `persist` ends.
    // `state` is the soft state with the ready taken (a leader's never changes; a follower's may name its new leader).
    // The caller sets _beatWhileWaiting for a leader before `persist` starts and clears it once `persist` ends.
    // `newLeader`: the ready makes this node leader (WhilePersisting.NewLeaderAllowed), whose role the host takes on
    // only once the ready is advanced: it heartbeats and steps acknowledgements, but takes no proposal, hands out no
    // committed entry and publishes no status meanwhile.
    private async Task StepWhilePersistingAsync(RawNode rawNode, SoftState state, Task persist, bool takeCommitted, bool newLeader, CancellationToken token)
    {
        // The end of the writes arrives as an event, so that one wait covers both.
        _ = persist.ContinueWith(
            static (completed, state) => ((RaftNode)state!)._events.Writer.TryWrite(new LoopEvent(LoopEventKind.Persisted, completed)),
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        var reader = _events.Reader;
        var term = state.Term;
        var leading = state.Role == StateRole.Leader;
        var leaderId = state.LeaderId;
        var persisted = false;

        // Every firing wakes the loop, and the firings the loop has not taken as ticks, in all and since the last
        // heartbeat sent while they waited, decide the next (WhilePersisting.HeartbeatDue). Counted from the last tick
        // taken, not from the start of the wait: a firing that came just before it (the loop busy getting there)
        // counts too; counted from the start, its heartbeat was missed (the CI run of 8befd8c timed out waiting for it).
        while (!persisted && !token.IsCancellationRequested && await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            var stepped = false;
            var proposed = false;
            var beat = false;
            while (reader.TryRead(out var loopEvent))
            {
                if (loopEvent.Kind == LoopEventKind.Persisted)
                {
                    if (ReferenceEquals(loopEvent.Payload, persist))
                    {
                        // Events after this one stay in the channel, behind the deferred ones.
                        persisted = true;
                        break;
                    }
                }
                else if (TakeNowOrDefer(rawNode, loopEvent, term, leading ? null : leaderId, takeProposals: !newLeader))
                {
                    proposed |= loopEvent.Kind == LoopEventKind.Propose;
                    stepped |= loopEvent.Kind == LoopEventKind.Message;
                }
                else if (leading && loopEvent.Kind == LoopEventKind.Tick
                         && Volatile.Read(ref _ticksPending) is var fired
                         && WhilePersisting.HeartbeatDue(fired, fired - _firedAtLastBeat, _options.Raft.HeartbeatTick, _options.Raft.ElectionTick))
                {
                    // The tick itself waits in _deferred (HandleTicks takes every firing after the writes).
                    _firedAtLastBeat = fired;
                    rawNode.Heartbeat();
                    beat = true;
                }
            }

            // Registered before their appends leave, so before anything can commit them.
            RegisterAccepted();
            if (stepped || proposed || beat)
            {
                _readyProcessor.Send(rawNode.TakeMessages());
            }

            if (!stepped || newLeader)
            {
                continue;
            }

            // Only while the apply queue has room (only this loop writes to it, so the write below cannot wait): a
            // loop waiting here for the applier would heartbeat no more.
            if (takeCommitted && _applyQueue.Reader.Count < _options.MaxPendingApplyBatches)
            {
                if (rawNode.TakeCommittedEntries() is { Count: > 0 } committed)
                {
                    // Before the applier answers the callers: one whose entry was a configuration change must see it
                    // committed in Status (WaitForCatchUpAsync reads the configuration from there).
                    PublishStatus(rawNode.Status);
                    if (!_applyQueue.Writer.TryWrite(new ApplyItem(committed, null)))
                    {
                        // Stopping completed the queue: the loop ends, but not before the writes (the node reports
                        // itself stopped only once nothing writes to its stores any more).
                        await persist.ConfigureAwait(false);
                        throw new ChannelClosedException();
                    }
                }
            }
            else if (leading)
            {
                // The commit index the acknowledgements reached, although its entries wait for the next ready.
                PublishStatus(rawNode.Status);
            }
        }

        // Stopping ends the wait above before the writes; their outcome still decides how the loop ends.
        await persist.ConfigureAwait(false);
    }

    // A committed membership change goes to the applier, which answers its caller, only once Status shows it: the caller
    // reads the configuration there next (WaitForCatchUpAsync, GetReplicationStatus). The end of the iteration is too
    // late: there, a leader's own write ending (Advance) could commit a change appended in the same iteration, whose
    // ready then applied it first, and AddVoterAsync in Orleans.Raft found the learner it had just added missing
    // (RaftNodeMembershipTests, AChangeThatReturned_IsInTheLeadersStatus_UnderLoadWithSlowDisks). Only then: the
    // status is a new object each time, and other batches need none.
    private void PublishBeforeApplying(RawNode rawNode, IReadOnlyList<Entry> committed)
    {
        for (var i = committed.Count - 1; i >= 0; i--)
        {
            if (committed[i].Type == EntryType.ConfigChange)
            {
                if (_status.CommitIndex < committed[i].Index)
                {
                    PublishStatus(rawNode.Status);
                }

                break;
            }
        }
    }

    // Full (the state machine is behind): wait for room, which is the loop's backpressure. Stopping completes the
    // queue, which ends this wait with ChannelClosedException.
    private ValueTask EnqueueApplyAsync(ApplyItem item, CancellationToken cancellationToken) =>
        _applyQueue.Writer.TryWrite(item) ? ValueTask.CompletedTask : _applyQueue.Writer.WriteAsync(item, cancellationToken);

    // A state machine that falls behind (a long snapshot on the applier, a slow Apply) fills the apply queue, and the
    // loop waits for room, after the ready whose committed entries wait was advanced. Meanwhile a leader keeps
    // heartbeating on its timer, steps its followers' acknowledgements and takes proposals, and a follower answers its
    // leader's heartbeats, as while their writes run: a node busy applying is not a dead one, and before, a leader whose
    // applier took an election timeout fell silent and its followers elected another. Like a hung disk, an applier
    // hung for longer than an election timeout silences a leader (WhilePersisting.HeartbeatDue; the budget counts
    // every firing since the last tick taken, the writes before the wait included). Entries committed meanwhile stay
    // in the engine (they go to the applier after `item`, with the next ready). `state` is the node's soft state.
    private async Task WaitForApplyRoomAsync(RawNode rawNode, ApplyItem item, SoftState state, CancellationToken token)
    {
        // The wait may be long: Status shows the ready just advanced meanwhile (its commit index, for one).
        PublishStatus(rawNode.Status);
        _beatWhileWaiting = state.Role == StateRole.Leader;
        try
        {
            var room = _applyQueue.Writer.WriteAsync(item, token);
            if (room.IsCompleted)
            {
                await room.ConfigureAwait(false);
                return;
            }

            await StepWhilePersistingAsync(rawNode, state, room.AsTask(), takeCommitted: false, newLeader: false, token).ConfigureAwait(false);
        }
        finally
        {
            _beatWhileWaiting = false;
        }
    }

    private void Handle(RawNode rawNode, LoopEvent loopEvent)
    {
        switch (loopEvent.Kind)
        {
            case LoopEventKind.Propose:
                Propose(rawNode, (PendingProposal)loopEvent.Payload!);
                break;
            case LoopEventKind.Message:
                var message = (Message)loopEvent.Payload!;
                if (message.Type is MessageType.AppendEntriesResponse or MessageType.HeartbeatResponse)
                {
                    ObserveFollower(message);
                }

                if (message.Type == MessageType.ReadIndex)
                {
                    CatchUpLeaseClock(rawNode);
                }

                rawNode.Step(message);

                // Not only a vote answer may make this node leader: so may a TimeoutNow to a node that is then the
                // only voter it knows (a leader that removed itself hands over: review of session 30).
                NoteLeadership(rawNode);
                if (message.Type is MessageType.AppendEntries or MessageType.Heartbeat or MessageType.InstallSnapshot)
                {
                    NoteLeaderContact(rawNode, message);
                }

                break;
            case LoopEventKind.Tick:
                HandleTicks(rawNode);
                ExpireReads();
                break;
            case LoopEventKind.Unreachable:
                var unreachable = (string)loopEvent.Payload!;
                ObserveUnreachable(unreachable);
                rawNode.ReportUnreachable(unreachable);
                break;
            case LoopEventKind.Read:
                (_newReads ??= []).Add((ReadRequest)loopEvent.Payload!);
                break;
            case LoopEventKind.ConfigChange:
                ProposeConfigurationChange(rawNode, (PendingConfigurationChange)loopEvent.Payload!);
                break;
            case LoopEventKind.Transfer:
                StartTransfer(rawNode, (TransferRequest)loopEvent.Payload!);
                break;
            case LoopEventKind.SnapshotWritten:
                var written = (SnapshotMetadata)loopEvent.Payload!;
                if (_pendingCompaction is null || written.Index > _pendingCompaction.Index)
                {
                    _pendingCompaction = written;
                }

                break;
            case LoopEventKind.SnapshotSent:
                OnSnapshotSent(rawNode, (SnapshotSendResult)loopEvent.Payload!);
                break;
            case LoopEventKind.Persisted:
                // The end of writes the loop already awaited.
                break;
        }
    }

    // A leader gets every tick it missed: its lease (lease reads, check-quorum) is counted in its own ticks and must never
    // last longer in real time than the followers' election timeout, which a leader losing ticks while its loop waits
    // would allow (simulator seed 417 with slow disks served a stale lease read). Anyone else gets one: a follower or
    // candidate that fell behind errs towards fewer elections, never more. Firings that came before this node became
    // leader are not its leader time (NoteLeadership counted them): they would only cut its first check-quorum window
    // short, before its followers could answer its first append (seen in the grpc benchmark: a leader elected while
    // its loop was held stepped down 190 ms later). No lease can start before leadership, so none is lengthened.
    private void HandleTicks(RawNode rawNode)
    {
        var fired = Interlocked.Exchange(ref _ticksPending, 0);
        _firedAtLastBeat = 0;
        if (fired == 0)
        {
            // A tick event of a firing already taken: while a leader's writes ran, every firing queued one.
            return;
        }

        var ticks = fired - _ticksBeforeLeadership;
        _ticksBeforeLeadership = 0;
        if (LeaseTicksDue(rawNode) is { } due)
        {
            TakeLeaseTicks(rawNode, due);
            return;
        }

        if (ticks > 1 && rawNode.Role == StateRole.Leader)
        {
            TakeLateLeaderTicks(rawNode, ticks);
        }
        else if (FollowerTickDue(rawNode))
        {
            rawNode.Tick();

            // A lone voter elects itself on a tick: its leadership, and its lease clock, start here (it may grow the
            // cluster and lead it in this term; unnoted, its ticks were its firings again, and a pause lengthened its
            // lease: review of session 30).
            NoteLeadership(rawNode);
        }
    }

    // With lease reads, a leader's ticks are the tick intervals its monotonic clock says have passed since it became
    // leader, however many firings its timer delivered: the lease is counted in them, and a timer does not deliver the
    // firings a paused process missed (a GC pause, a frozen VM, SIGSTOP: about 4 of 40 came over 2 s), so a leader
    // paused while it was cut off would have served reads from a lease that had run out (found by a review in session
    // 29). Null when the firings decide: without leases, or when not leading (or in a term whose leadership was not
    // noted, which cannot happen: a node becomes leader on a message or, a lone voter, on its own tick, and the loop
    // notes it after each).
    private int? LeaseTicksDue(RawNode rawNode)
    {
        if (_options.Raft.ReadOnlyOption != ReadOnlyOption.LeaseBased || rawNode.Role != StateRole.Leader
            || _leadershipNotedInTerm != rawNode.Term)
        {
            return null;
        }

        var elapsed = (_timeProvider.GetTimestamp() - _leadershipStartedAt) / _tickTimestampUnits;
        return (int)Math.Clamp(elapsed - _leaseTicksTaken, 0, int.MaxValue);
    }

    // With lease reads, a follower's answer to its leader promises not to vote for another for ElectionTick of its ticks,
    // the first of which may come at once. A firing whose callback a starved thread pool ran late, after the leader's
    // message although it fired before it, would make that two: so a follower takes a tick only if its clock says a
    // whole tick interval more has passed since the leader's last message than the ticks it took since (review of
    // session 30). It counts no faster than its clock, and never sooner than a tick after the message.
    private bool FollowerTickDue(RawNode rawNode)
    {
        if (_options.Raft.ReadOnlyOption != ReadOnlyOption.LeaseBased || _leaderContactAt == 0)
        {
            return true;
        }

        if ((_timeProvider.GetTimestamp() - _leaderContactAt) / _tickTimestampUnits <= _ticksSinceLeaderContact)
        {
            return false;
        }

        _ticksSinceLeaderContact++;
        return true;
    }

    // A follower took a message of its leader's (it restarted its election timer and its promise): FollowerTickDue counts
    // from now. Only what the engine took as its leader's counts: a stale leader's messages, refused, must not hold its
    // ticks back (it would never campaign).
    private void NoteLeaderContact(RawNode rawNode, Message message)
    {
        if (_options.Raft.ReadOnlyOption == ReadOnlyOption.LeaseBased
            && rawNode.Role == StateRole.Follower && rawNode.LeaderId == message.From && rawNode.Term == message.Term)
        {
            _leaderContactAt = _timeProvider.GetTimestamp();
            _ticksSinceLeaderContact = 0;
        }
    }

    // The leader's ticks its clock says are due (LeaseTicksDue), taken as late ticks are.
    private void TakeLeaseTicks(RawNode rawNode, int due)
    {
        if (due == 0)
        {
            return;
        }

        _leaseTicksTaken += due;
        if (due == 1)
        {
            rawNode.Tick();
        }
        else
        {
            TakeLateLeaderTicks(rawNode, due);
        }
    }

    // A leader takes the ticks its loop could not take one by one: the acknowledgements waiting behind them first, then
    // one burst.
    private void TakeLateLeaderTicks(RawNode rawNode, int ticks)
    {
        if (ticks >= _options.Raft.ElectionTick / 2)
        {
            // Half an election timeout without a turn of a leader's loop: a starved machine or a stalled store, the
            // usual reason for an election nobody asked for. Said once per stall, when the loop catches up. (A
            // follower's loop waits out its writes: a slow one is reported by NoteWrite.)
            Log.LoopHeld(_logger, Id, ticks, (ticks * _options.TickInterval).TotalMilliseconds);
        }

        StepWaitingAcknowledgements(rawNode);

        // Counted as leader ticks only while it leads (an acknowledgement may commit its own removal, check-quorum may
        // depose it), and judged by check-quorum once: see RawNode.Tick(int).
        rawNode.Tick(ticks);
    }

    // Before a lease is consulted (a read request, the leader's own or a follower's): the ticks the clock says are due
    // are taken first, since the tick event of the timer's next firing may still be on its way.
    private void CatchUpLeaseClock(RawNode rawNode)
    {
        if (LeaseTicksDue(rawNode) is { } due)
        {
            TakeLeaseTicks(rawNode, due);
        }
    }

    // How long a ready's writes took: appends count towards trusting the disk (MayWriteInline), and writes that took
    // half an election timeout or more are reported, since the disk is then what holds up commits (and, before followers
    // answered heartbeats while writing, what cost leaders their leadership: see WhilePersisting).
    private void NoteWrite(Ready ready, TimeSpan elapsed)
    {
        if (ready.Entries.Count > 0)
        {
            _quickWritesInARow = elapsed < _options.TickInterval ? _quickWritesInARow + 1 : 0;
        }

        if (elapsed >= _electionTimeout / 2)
        {
            Log.SlowWrite(_logger, Id, ready.Entries.Count, ready.HardState is not null, elapsed.TotalMilliseconds, _electionTimeout.TotalMilliseconds);
        }
    }

    // A message or a tick may just have made this node leader: the firings pending now came before that (see
    // HandleTicks), and a lease leader's clock starts now (see LeaseTicksDue).
    private void NoteLeadership(RawNode rawNode)
    {
        if (rawNode.Role == StateRole.Leader && _leadershipNotedInTerm != rawNode.Term)
        {
            _leadershipNotedInTerm = rawNode.Term;
            _ticksBeforeLeadership = Volatile.Read(ref _ticksPending);
            _leadershipStartedAt = _timeProvider.GetTimestamp();
            _leaseTicksTaken = 0;
        }
    }

    // A leader about to take ticks it missed while its loop was held (a long write, a pause, a starved machine): the
    // followers' acknowledgements that arrived meanwhile wait in the channel behind the tick event. They were received
    // within those ticks, so they are stepped first; after a whole election timeout of ticks, check-quorum would find
    // no follower active and a leader whose quorum answered would step down (seen in the grpc benchmark: a leader held
    // ~200 ms right after its election lost its leadership). This cannot lengthen a lease: an acknowledgement confirms
    // leadership as of the tick its round was sent (RaftState.OnRoundAcknowledged), and every tick is still counted.
    // Proposals are proposed here too, as while a leader's writes run (StepWhilePersistingAsync, which would otherwise
    // propose later ones from the channel ahead of them). The other events keep their order, in _deferred, which the
    // loop handles before the channel.
    private void StepWaitingAcknowledgements(RawNode rawNode)
    {
        var term = rawNode.Status.Term;
        var reader = _events.Reader;
        for (var taken = 0; taken < _options.MaxEventsPerIteration && reader.TryRead(out var loopEvent); taken++)
        {
            TakeNowOrDefer(rawNode, loopEvent, term);
        }
    }

    // What a node takes at once while its other inputs must wait (its writes run, or a leader's late ticks are due): a
    // leader, its followers' acknowledgements of its term (WhilePersisting.CanStep) and proposals; a follower of
    // `followedLeader`, that leader's heartbeats (WhilePersisting.CanStepAsFollower), whose answers leave at once.
    // Anything else goes to _deferred, in arrival order. Returns whether the event was taken.
    private bool TakeNowOrDefer(RawNode rawNode, LoopEvent loopEvent, long term, string? followedLeader = null, bool takeProposals = true)
    {
        var message = loopEvent is { Kind: LoopEventKind.Message, Payload: Message m } ? m : null;
        var takeNow = followedLeader is null
            ? (takeProposals && loopEvent.Kind == LoopEventKind.Propose && _deferredProposals == 0) || (message is not null && WhilePersisting.CanStep(message, term))
            : message is not null && WhilePersisting.CanStepAsFollower(message, term, followedLeader);
        if (takeNow)
        {
            if (followedLeader is not null)
            {
                // The heartbeat restarts the election timer, so the firings that came before it must not count against
                // the new timeout: their tick event waits in _deferred and would be taken after it. Taken, a follower
                // could vote for another candidate a tick early, inside a lease it had just granted (found by a review
                // in session 29). A firing lost here only delays an election.
                Interlocked.Exchange(ref _ticksPending, 0);
            }

            Handle(rawNode, loopEvent);
            return true;
        }

        _deferredProposals += loopEvent.Kind == LoopEventKind.Propose ? 1 : 0;
        _deferred.Enqueue(loopEvent);
        return false;
    }

    private void Propose(RawNode rawNode, PendingProposal proposal)
    {
        ProposeOutcome outcome;
        try
        {
            outcome = rawNode.Propose(proposal.Command);
        }
        catch (ArgumentException ex)
        {
            // The engine refused this command alone (e.g. too large); the node is fine.
            proposal.TrySetException(ex);
            return;
        }
        catch (Exception ex)
        {
            proposal.TrySetException(RaftNodeStoppedException.For(Id, ex));
            throw;
        }

        OnProposeOutcome(outcome, proposal, "proposal");
    }

    // Shared by commands and configuration changes: an accepted proposal waits for its entry to be applied.
    private void OnProposeOutcome(ProposeOutcome outcome, TaskCompletionSource<ProposalResult> proposal, string what)
    {
        switch (outcome.Status)
        {
            case ProposeStatus.Accepted:
                _accepted.Add((outcome.Index, outcome.Term, proposal));
                return;
            case ProposeStatus.NotLeader:
                proposal.TrySetException(new NotLeaderException(Id, outcome.LeaderHint));
                break;
            case ProposeStatus.Dropped:
                proposal.TrySetException(outcome.Reason is null
                    ? new ProposalDroppedException()
                    : new ProposalDroppedException($"Raft node '{Id}' dropped the {what}; it was not appended. {outcome.Reason}"));
                break;
            default:
                proposal.TrySetException(new RequestRejectedException(
                    $"Raft node '{Id}' rejected the {what}: {outcome.Reason ?? outcome.Status.ToString()}"));
                break;
        }

        RaftMetrics.ProposalsRejected.Add(1, _nodeTag);
    }

    private void RegisterAccepted()
    {
        if (_accepted.Count == 0)
        {
            return;
        }

        lock (_lock)
        {
            foreach (var (index, term, proposal) in _accepted)
            {
                _proposals.Register(index, term, proposal);
            }
        }

        RaftMetrics.Proposals.Add(_accepted.Count, _nodeTag);
        _accepted.Clear();
    }

    // The role, leader or term changed: requests tied to the previous one end here.
    private void OnSoftStateChanged(RawNode rawNode, SoftState softState)
    {
        var wasLeader = _softState.Role == StateRole.Leader;
        _softState = softState;
        OnLeadershipChanged(softState);
        FailReadsAfterSoftStateChange(softState);
        if (wasLeader && softState.Role != StateRole.Leader)
        {
            FailProposalsOfRemovedLeader(rawNode.Status);
        }
    }

    // Called once the loop has ended: fails requests it took but never registered, and those still queued.
    private int FailUnregistered(Exception stopped)
    {
        var failed = 0;
        foreach (var (_, _, proposal) in _accepted)
        {
            failed += proposal.TrySetException(stopped) ? 1 : 0;
        }

        _accepted.Clear();
        while (_deferred.TryDequeue(out var loopEvent) || _events.Reader.TryRead(out loopEvent))
        {
            switch (loopEvent.Payload)
            {
                case TaskCompletionSource<ProposalResult> proposal:
                    failed += proposal.TrySetException(stopped) ? 1 : 0;
                    break;
                case ReadRequest read:
                    read.TrySetException(stopped);
                    break;
                case TransferRequest transfer:
                    transfer.TrySetException(stopped);
                    break;
            }
        }

        return failed;
    }

    // Called once the loop has ended: fails the loop's own pending requests (reads without a read index, transfers).
    private void FailLoopRequests(Exception stopped)
    {
        foreach (var read in _newReads ?? [])
        {
            read.TrySetException(stopped);
        }

        _newReads = null;
        foreach (var batch in _readBatches.Values)
        {
            batch.Fail(stopped);
        }

        _readBatches.Clear();
        foreach (var transfer in _transfers)
        {
            transfer.TrySetException(stopped);
        }

        _transfers.Clear();
    }

    private readonly record struct LoopEvent(LoopEventKind Kind, object? Payload);
}
