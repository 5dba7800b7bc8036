using Raft.Core.Messages;

namespace Raft.Core.Engine;

/// <summary>Handing work to the host: building a <see cref="Ready"/> and learning, on Advance, what became durable.</summary>
internal sealed partial class RaftState
{
    private HardState _prevHardState;
    private SoftState _prevSoftState;
    private Ready? _outstanding;
    private (long Index, long Term) _outstandingLastEntry;

    // The durable commit index never runs ahead of the durable log: the log and hard-state writes of one Ready may
    // land in either order, and a commit index past a log that still holds an old, conflicting suffix would make a
    // restarted node treat an uncommitted entry as committed. Entries being replaced are above StableIndex already.
    private HardState CurrentHardState => new(Term, VotedFor, Math.Min(_log.Committed, _log.StableIndex));

    private SoftState CurrentSoftState => new(Role, LeaderId, Term);

    public bool HasReady()
    {
        if (_outstanding is not null)
        {
            return false;
        }

        return _msgs.Count > 0 ||
            _msgsAfterPersist.Count > 0 ||
            _readStates is not null ||
            _pendingSnapshotInstall is not null ||
            (Role == StateRole.Leader && _pendingReadBroadcast) ||
            _log.HasUnstableThrough(PersistThrough()) ||
            _log.HasNextCommitted ||
            (Role == StateRole.Leader && (_pendingBroadcast || _pendingCommitBroadcast)) ||
            CurrentHardState != _prevHardState ||
            CurrentSoftState != _prevSoftState;
    }

    public Ready GetReady()
    {
        if (_outstanding is not null)
        {
            throw new InvalidOperationException("The previous Ready has not been advanced: call Advance before GetReady.");
        }

        FlushBroadcast();
        UpdateNeededFrom();

        var hardState = CurrentHardState;
        var softState = CurrentSoftState;
        var entries = _log.TakeUnstable(PersistThrough());
        var committed = _log.TakeCommitted();
        var ready = new Ready(
            softState != _prevSoftState ? softState : null,
            hardState != _prevHardState ? hardState : null,
            entries,
            _msgs.Count > 0 ? _msgs : [],
            _msgsAfterPersist.Count > 0 ? _msgsAfterPersist : [],
            committed,
            _pendingSnapshotInstall,
            _readStates);

        // The lists now belong to the ready; start new ones only where they were handed out.
        if (_msgs.Count > 0)
        {
            _msgs = [];
        }

        if (_msgsAfterPersist.Count > 0)
        {
            _msgsAfterPersist = [];
        }

        _readStates = null;
        _pendingSnapshotInstall = null;
        _prevHardState = hardState;
        _prevSoftState = softState;
        _outstandingLastEntry = entries.Count > 0 ? (entries[^1].Index, entries[^1].Term) : (0, 0);
        _outstanding = ready;
        return ready;
    }

    // How far the next ready's entries go. A follower, a candidate and a leader alone persist everything they hold. A
    // leader whose followers all replicate persists what it has sent to one of them: entries that wait for a
    // follower's acknowledgement (RaftOptions.MinPipelinedAppendBytes) cannot commit before they are sent, so they
    // wait too and go into the leader's next write with the batch they leave in. The leader then makes one write per
    // batch sent rather than one per loop iteration, which under many small proposals is several times fewer fsyncs.
    // (Its durable copy counts toward a commit only once written, as always.) A follower being probed or sent a
    // snapshot, i.e. one that may not take new entries soon, lets the leader write everything.
    private long PersistThrough()
    {
        if (Role != StateRole.Leader)
        {
            return _log.LastIndex;
        }

        var through = -1L;
        foreach (var id in _tracker.Members)
        {
            if (id == Id)
            {
                continue;
            }

            var progress = _tracker[id];
            if (progress.State != Tracking.ProgressState.Replicate)
            {
                return _log.LastIndex;
            }

            through = Math.Max(through, progress.Next - 1);
        }

        return through < 0 ? _log.LastIndex : through;
    }

    // A leader only: what a quorum of followers made durable may be applied while the leader's own write is still
    // running. A follower learns of commits with the entries of a ready, so it keeps getting them there.
    public IReadOnlyList<Entry> TakeCommittedEntries()
    {
        if (Role != StateRole.Leader || _pendingSnapshotInstall is not null)
        {
            return [];
        }

        UpdateNeededFrom();
        return _log.TakeCommitted();
    }

    // What the log must keep for the followers (RaftLog.SetNeededFrom): from the lowest follower's Match + 1 on a
    // leader; nothing on other roles, which send no entries.
    private void UpdateNeededFrom()
    {
        var from = long.MaxValue;
        if (Role == StateRole.Leader)
        {
            foreach (var id in _tracker.Members)
            {
                if (id != Id)
                {
                    from = Math.Min(from, _tracker[id].Match + 1);
                }
            }
        }

        _log.SetNeededFrom(from);
    }

    // A leader's own appends of its current term may leave before any of its writes (thesis §10.2.1), and so may a
    // follower's answers to heartbeats of its durable term (Send), so they need not wait for the outstanding ready.
    public IReadOnlyList<Message> TakeMessages()
    {
        if (Role == StateRole.Leader)
        {
            SendToIdleFollowers();
        }
        else if (Role != StateRole.Follower)
        {
            return [];
        }

        if (_msgs.Count == 0)
        {
            return [];
        }

        var messages = _msgs;
        _msgs = [];
        return messages;
    }

    public void Advance(Ready ready)
    {
        if (!ReferenceEquals(ready, _outstanding))
        {
            throw new InvalidOperationException("Advance was given a Ready that is not the one GetReady returned last.");
        }

        _outstanding = null;
        if (ready.HardState is { } hardState)
        {
            _durableTerm = hardState.Term;
        }

        UpdateNeededFrom();
        if (_outstandingLastEntry.Index > 0)
        {
            _log.StableTo(_outstandingLastEntry.Index, _outstandingLastEntry.Term);
            if (Role == StateRole.Leader && _tracker.Get(Id) is { } self && self.MaybeUpdate(_log.StableIndex) && MaybeCommit())
            {
                // Our own durable copy completed a majority.
                _pendingCommitBroadcast = true;
            }
        }

        AfterInput();
    }
}
