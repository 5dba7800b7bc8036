using Raft.Core.Messages;
using Raft.Core.Tracking;

namespace Raft.Core.Engine;

/// <summary>Snapshots (§7): compacting the log behind one, sending it to a follower that needs it, installing one.</summary>
internal sealed partial class RaftState
{
    // The newest snapshot the host has stored; what a lagging follower is sent.
    private SnapshotMetadata? _snapshot;

    // A snapshot accepted from the leader, to be installed by the host with the next Ready.
    private SnapshotMetadata? _pendingSnapshotInstall;

    /// <summary>
    /// Records a snapshot the host stored durably and forgets the log entries it covers, keeping
    /// <see cref="RaftOptions.SnapshotTrailingEntries"/> before it. Returns the index through which the host may compact
    /// its log store.
    /// </summary>
    public long Compact(SnapshotMetadata snapshot)
    {
        if (snapshot.Index > _log.Applied)
        {
            throw new ArgumentException(
                $"A snapshot at index {snapshot.Index} cannot cover entries not yet applied (applied: {_log.Applied}).", nameof(snapshot));
        }

        if (snapshot.Index > _log.BaseIndex && _log.Term(snapshot.Index) != snapshot.Term)
        {
            throw new ArgumentException(
                $"The snapshot says index {snapshot.Index} has term {snapshot.Term}, but the log has term {_log.Term(snapshot.Index)} there.", nameof(snapshot));
        }

        if (_snapshot is null || snapshot.Index > _snapshot.Index)
        {
            _snapshot = snapshot;
        }

        var through = Math.Min(snapshot.Index - _options.SnapshotTrailingEntries, Math.Min(_log.Applied, _log.StableIndex));
        if (through > _log.BaseIndex)
        {
            _log.CompactTo(through);
        }

        return _log.BaseIndex;
    }

    /// <summary>The leader's side: the follower's next entry is gone, so it gets the snapshot.</summary>
    private bool SendSnapshot(string to, Progress progress)
    {
        if (_snapshot is null || _snapshot.Index < _log.BaseIndex)
        {
            throw new InvalidOperationException(
                $"Follower '{to}' needs entries up to the log's base ({_log.BaseIndex}) but no snapshot covers them.");
        }

        Send(new Message
        {
            Type = MessageType.InstallSnapshot,
            From = Id,
            To = to,
            Term = Term,
            Index = _snapshot.Index,
            LogTerm = _snapshot.Term,
            Snapshot = _snapshot,
        });
        progress.BecomeSnapshot(_snapshot.Index);
        return true;
    }

    public void ReportSnapshot(string nodeId, bool success)
    {
        if (Role == StateRole.Leader && _tracker.Get(nodeId) is { State: ProgressState.Snapshot } progress)
        {
            // Either way, wait for the follower's answer or the next heartbeat response before sending more.
            progress.OnSnapshotSent(success);
        }
    }

    /// <summary>The follower's side: the snapshot data is already in the host's snapshot store.</summary>
    private void HandleInstallSnapshot(Message m)
    {
        var snapshot = m.Snapshot ?? throw new InvalidOperationException("InstallSnapshot without snapshot metadata.");
        if (snapshot.Index <= _log.Committed)
        {
            Send(new Message { Type = MessageType.AppendEntriesResponse, From = Id, To = m.From, Term = Term, Index = _log.Committed });
            return;
        }

        if (_log.MatchTerm(snapshot.Index, snapshot.Term))
        {
            // Our log already holds the snapshot's last entry: it is committed, and nothing needs replacing.
            _log.CommitTo(snapshot.Index);
        }
        else
        {
            _log.Restore(snapshot);
            _snapshot = snapshot;
            _pendingSnapshotInstall = snapshot;
            SyncConfiguration();
        }

        // Sent after the Ready with the snapshot is carried out, i.e. once it is installed durably.
        Send(new Message { Type = MessageType.AppendEntriesResponse, From = Id, To = m.From, Term = Term, Index = _log.Committed });
    }
}
