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
            _log.HasUnstable ||
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

        var hardState = CurrentHardState;
        var softState = CurrentSoftState;
        var entries = _log.TakeUnstable();
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

    // A leader only: what a quorum of followers made durable may be applied while the leader's own write is still
    // running. A follower learns of commits with the entries of a ready, so it keeps getting them there.
    public IReadOnlyList<Entry> TakeCommittedEntries() =>
        Role == StateRole.Leader && _pendingSnapshotInstall is null ? _log.TakeCommitted() : [];

    // A leader only: its own appends of its current term may leave before any of its writes (thesis §10.2.1), so
    // they need not wait for the outstanding ready to be advanced.
    public IReadOnlyList<Message> TakeMessages()
    {
        if (Role != StateRole.Leader)
        {
            return [];
        }

        SendToIdleFollowers();
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
