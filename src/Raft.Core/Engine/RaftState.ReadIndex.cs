using Raft.Core.Messages;

namespace Raft.Core.Engine;

/// <summary>
/// Linearizable reads without log writes (thesis §6.4): ReadIndex confirmed by a heartbeat round, or a lease
/// (§6.4.1). Heartbeats are numbered in rounds; a follower's answer to round R confirms that it still followed this
/// leader after every read registered before R was sent.
/// </summary>
internal sealed partial class RaftState
{
    // Reads waiting for a heartbeat round to confirm them, in arrival order (so rounds are non-decreasing).
    private readonly List<PendingRead> _pendingReads = [];

    // Reads that arrived before this leader committed an entry of its term: its commit index may still be behind.
    private readonly List<PendingRead> _readsAwaitingCommit = [];

    // Heartbeat rounds sent and not yet confirmed by a majority, with the tick each was sent at (for the lease).
    private readonly Queue<(long Round, long Tick)> _roundsInFlight = new();
    // Null while empty, so that the common ready with no reads allocates nothing for them.
    private List<ReadState>? _readStates;
    private long _heartbeatRound;
    private long _confirmedRound;
    private long _leaseStartTick = long.MinValue;
    private long _ticks;
    private bool _pendingReadBroadcast;

    // Set once this leader starts a transfer in its term: its TimeoutNow lets the target win votes despite the
    // followers' leases, and may arrive late (after the transfer was abandoned), so the lease cannot be trusted again
    // in this term. Reads fall back to ReadIndex until the next term.
    private bool _transferAttemptedInTerm;

    // Ticks since this node started, counted up to ElectionTick. With lease reads a restarted node must not vote
    // within an election timeout of starting either: before the crash it may have promised a leader exactly that.
    private int _ticksSinceStart;

    private bool InStartupLease =>
        _options.ReadOnlyOption == ReadOnlyOption.LeaseBased && _ticksSinceStart < _options.ElectionTick;

    // Ticks since this node last heard from a leader (its AppendEntries, heartbeat or snapshot), counted up to
    // ElectionTick, which stands for "not within an election timeout". Unlike _electionElapsed and LeaderId, a change of
    // term does not reset it: a follower moved to a newer term by a message that is not its leader's (a stale vote
    // answer of that term) forgot its leader, but the promise its answers made stands (review of session 30).
    private int _leaderContactElapsed;

    /// <summary>
    /// Thesis §4.2.3 and §6.4.1: with check-quorum, a leader, and a node that heard from a leader within an election
    /// timeout (or started less than one ago, with lease reads), refuse votes, so that a working leader is not deposed
    /// and its lease holds. Transfer elections are exempt (<see cref="IsTransferVote"/>).
    /// </summary>
    private bool InLeaderLease =>
        _options.CheckQuorum && (Role == StateRole.Leader || _leaderContactElapsed < _options.ElectionTick || InStartupLease);

    // A transfer election was asked for by the leader itself, so the lease does not apply to its vote requests.
    private static bool IsTransferVote(Message m) =>
        m.Type == MessageType.Vote && m.Context.Span.SequenceEqual(TransferContext.Span);

    private sealed record PendingRead(string From, ReadOnlyMemory<byte> Context, long Index, long Round);

    public ProposeOutcome ReadIndex(ReadOnlyMemory<byte> context)
    {
        if (Role == StateRole.Leader)
        {
            HandleReadRequest(Id, context);
            return new ProposeOutcome(ProposeStatus.Accepted, 0, Term, Id);
        }

        if (Role != StateRole.Follower || LeaderId is null)
        {
            return new ProposeOutcome(ProposeStatus.NotLeader, 0, 0, LeaderId);
        }

        // A follower asks the leader for the read index and serves the read itself (reads scale with followers).
        Send(new Message { Type = MessageType.ReadIndex, From = Id, To = LeaderId, Term = Term, Context = context });
        return new ProposeOutcome(ProposeStatus.Accepted, 0, Term, LeaderId);
    }

    private bool CommittedInCurrentTerm => _log.Term(_log.Committed) == Term;

    private void HandleReadRequest(string from, ReadOnlyMemory<byte> context)
    {
        if (!CommittedInCurrentTerm)
        {
            // Thesis §6.4 step 1: until its no-op commits, a new leader does not know the full commit index.
            _readsAwaitingCommit.Add(new PendingRead(from, context, 0, 0));
            return;
        }

        if (_tracker.Voters.Count == 1 && _tracker.IsVoter(Id))
        {
            ReleaseRead(from, context, _log.Committed);
            return;
        }

        if (LeaseValid)
        {
            ReleaseRead(from, context, _log.Committed);
            return;
        }

        _pendingReads.Add(new PendingRead(from, context, _log.Committed, _heartbeatRound + 1));
        _pendingReadBroadcast = true;
    }

    /// <summary>
    /// §6.4.1: no other leader can exist before the followers that answered our confirmed round stop ignoring votes. A
    /// follower does so ElectionTick of its ticks after it took the round, but the first of them may come at once: the
    /// round is sent after the leader's tick it is stamped with, and may reach a follower just before the follower's
    /// next tick. So the lease lasts ElectionTick − 1 of the leader's ticks, less what the clocks may drift.
    /// </summary>
    private bool LeaseValid =>
        _options.ReadOnlyOption == ReadOnlyOption.LeaseBased &&
        !_transferAttemptedInTerm &&
        CommittedInCurrentTerm &&
        _ticks < _leaseStartTick + _options.ElectionTick - 1 - _options.LeaseClockDriftTicks;

    private void ReleaseRead(string from, ReadOnlyMemory<byte> context, long index)
    {
        if (from == Id)
        {
            (_readStates ??= []).Add(new ReadState(index, context));
        }
        else
        {
            Send(new Message { Type = MessageType.ReadIndexResponse, From = Id, To = from, Term = Term, Index = index, Context = context });
        }
    }

    /// <summary>Records a follower's answer to a heartbeat round and releases the reads a majority has now confirmed.</summary>
    private void OnRoundAcknowledged(Tracking.Progress progress, long round)
    {
        if (round <= progress.AckedRound)
        {
            return;
        }

        progress.AckedRound = round;
        var confirmed = _tracker.IsVoter(Id)
            ? _tracker.ConfirmedRound(Id, _heartbeatRound)
            : _tracker.Voters.CommittedIndex(id => _tracker[id].AckedRound);
        if (confirmed <= _confirmedRound)
        {
            return;
        }

        _confirmedRound = confirmed;
        while (_roundsInFlight.Count > 0 && _roundsInFlight.Peek().Round <= confirmed)
        {
            _leaseStartTick = _roundsInFlight.Dequeue().Tick;
        }

        var released = 0;
        while (released < _pendingReads.Count && _pendingReads[released].Round <= confirmed)
        {
            var read = _pendingReads[released];
            ReleaseRead(read.From, read.Context, read.Index);
            released++;
        }

        _pendingReads.RemoveRange(0, released);
    }

    /// <summary>The no-op of this term committed: the reads that waited for it can start.</summary>
    private void OnCommittedInCurrentTerm()
    {
        if (_readsAwaitingCommit.Count == 0)
        {
            return;
        }

        var waiting = _readsAwaitingCommit.ToArray();
        _readsAwaitingCommit.Clear();
        foreach (var read in waiting)
        {
            HandleReadRequest(read.From, read.Context);
        }
    }

    private void ResetReads()
    {
        // Reads in flight on a deposed leader are abandoned; the host fails them when it sees the role change.
        _pendingReads.Clear();
        _readsAwaitingCommit.Clear();
        _roundsInFlight.Clear();
        _confirmedRound = _heartbeatRound;
        _leaseStartTick = long.MinValue;
        _pendingReadBroadcast = false;
        _transferAttemptedInTerm = false;
    }

    private void StepReadIndexResponse(Message m)
    {
        (_readStates ??= []).Add(new ReadState(m.Index, m.Context));
    }
}
