using Raft.Core.Messages;
using Raft.Core.Tracking;

namespace Raft.Core.Engine;

/// <summary>Log replication: proposals, AppendEntries in both directions, heartbeats and the commit rule.</summary>
internal sealed partial class RaftState
{
    // Set when entries were appended or the commit index moved; the appends go out once, at the next Ready, so
    // that every proposal of one loop iteration travels in one AppendEntries per follower (batching).
    private bool _pendingBroadcast;
    private bool _pendingCommitBroadcast;

    // Bytes of entries this leader appended that are not committed yet (flow control for proposals).
    private long _uncommittedSize;

    public ProposeOutcome Propose(ReadOnlyMemory<byte> data)
    {
        if (data.Length > _options.MaxEntrySize)
        {
            throw new ArgumentException(
                $"The command is {data.Length} bytes; RaftOptions.MaxEntrySize allows at most {_options.MaxEntrySize}.", nameof(data));
        }

        if (Role != StateRole.Leader)
        {
            return new ProposeOutcome(ProposeStatus.NotLeader, 0, 0, LeaderId);
        }

        if (_leadTransferee is not null)
        {
            // Thesis §3.10: the leader stops taking proposals while it hands over, so the target can catch up.
            return new ProposeOutcome(ProposeStatus.Dropped, 0, 0, Id, $"Leadership is being transferred to '{_leadTransferee}'; retry with the new leader.");
        }

        var entry = new Entry(_log.LastIndex + 1, Term, EntryType.Normal, data);
        if (_options.MaxUncommittedEntriesSize > 0 && _uncommittedSize > 0 && _uncommittedSize + entry.Size > _options.MaxUncommittedEntriesSize)
        {
            return new ProposeOutcome(ProposeStatus.Dropped, 0, 0, Id);
        }

        _uncommittedSize += entry.Size;
        _log.Append(entry);
        _pendingBroadcast = true;
        return new ProposeOutcome(ProposeStatus.Accepted, entry.Index, entry.Term, Id);
    }

    /// <summary>Sends what each follower is missing (and the commit index, when it moved).</summary>
    private void FlushBroadcast()
    {
        if (Role != StateRole.Leader)
        {
            return;
        }

        if (_pendingReadBroadcast)
        {
            // One heartbeat round confirms every read that arrived since the last one.
            _pendingReadBroadcast = false;
            _heartbeatElapsed = 0;
            BroadcastHeartbeat();
        }

        if (!(_pendingBroadcast || _pendingCommitBroadcast))
        {
            return;
        }

        var sendIfEmpty = _pendingCommitBroadcast;
        _pendingBroadcast = false;
        _pendingCommitBroadcast = false;
        BroadcastAppend(sendIfEmpty, idleOnly: false);
    }

    // While the leader's own writes run (RawNode.TakeMessages): entries proposed since the last ready go at once only to
    // followers with nothing in flight. A busy follower is writing what it has and would only queue more; it gets them
    // with the acknowledgement that frees it (HandleAppendResponse keeps its pipeline full) or with the next ready's
    // broadcast, which _pendingBroadcast still asks for. So the leader's fsync does not multiply its messages.
    private void SendToIdleFollowers()
    {
        if (_pendingBroadcast)
        {
            BroadcastAppend(sendIfEmpty: false, idleOnly: true);
        }
    }

    // Sends every follower (with idleOnly, every one in the replicate state with nothing in flight) what its progress
    // allows: the first AppendEntries even without entries when sendIfEmpty (a commit index to announce), then more
    // while the window allows (more than one message's worth may be pending).
    private void BroadcastAppend(bool sendIfEmpty, bool idleOnly)
    {
        foreach (var id in _tracker.Members)
        {
            if (id == Id)
            {
                continue;
            }

            var progress = _tracker[id];
            if (idleOnly && (progress.State != ProgressState.Replicate || progress.Inflights.Count > 0))
            {
                continue;
            }

            // A commit index goes out only to a follower that has not been told it; one with appends in flight is
            // told with its acknowledgement's answer (HandleAppendEntriesResponse).
            if (SendAppend(id, progress, sendIfEmpty && progress.CommitSent < _log.Committed))
            {
                while (SendAppend(id, progress, sendIfEmpty: false))
                {
                }
            }
        }
    }

    /// <summary>Sends one AppendEntries to <paramref name="to"/> if its progress allows; returns whether one was sent.</summary>
    private bool SendAppend(string to, Progress progress, bool sendIfEmpty)
    {
        if (progress.IsPaused || WaitsForAcknowledgement(progress))
        {
            return false;
        }

        var prevIndex = progress.Next - 1;
        var prevTerm = _log.Term(prevIndex);
        if (prevTerm < 0)
        {
            // The entries this follower needs were compacted away.
            return SendSnapshot(to, progress);
        }

        var entries = _log.Slice(progress.Next, _options.MaxSizePerMessage);
        if (entries.Count == 0 && !sendIfEmpty)
        {
            return false;
        }

        long bytes = 0;
        for (var i = 0; i < entries.Count; i++)
        {
            bytes += entries[i].Size;
        }

        Send(new Message
        {
            Type = MessageType.AppendEntries,
            From = Id,
            To = to,
            Term = Term,
            Index = prevIndex,
            LogTerm = prevTerm,
            Entries = entries,
            Commit = _log.Committed,
        });
        progress.CommitSent = _log.Committed;
        progress.OnEntriesSent(entries.Count, prevIndex + entries.Count, bytes);
        return true;
    }

    // Whether what this follower is missing should rather wait for the acknowledgement of what is in flight to it
    // (RaftOptions.MinPipelinedAppendBytes): the acknowledgement frees the window and sends everything that gathered
    // meanwhile in one message. An empty append (a commit index) waits too. Entries no longer in memory mean a
    // follower far behind, which is streamed.
    private bool WaitsForAcknowledgement(Progress progress) =>
        _options.MinPipelinedAppendBytes > 0
        && progress.State == ProgressState.Replicate
        && progress.Inflights.Count > 0
        && _log.HasFewerBytesFrom(progress.Next, _options.MinPipelinedAppendBytes);

    private void BroadcastHeartbeat()
    {
        // Numbered rounds: an answer to this round confirms leadership as of now (read index, lease).
        var round = ++_heartbeatRound;
        _roundsInFlight.Enqueue((round, _ticks));
        if (_tracker.Voters.Count == 1 && _tracker.IsVoter(Id))
        {
            OnRoundAcknowledged(_tracker[Id], round);
        }

        foreach (var id in _tracker.Members)
        {
            if (id == Id)
            {
                continue;
            }

            // The follower may not hold entries up to our commit index yet: never tell it more than it matches.
            var commit = Math.Min(_tracker[id].Match, _log.Committed);
            Send(new Message { Type = MessageType.Heartbeat, From = Id, To = id, Term = Term, Commit = commit, Index = round });
        }
    }

    /// <summary>The follower's side of AppendEntries (§5.3).</summary>
    private void HandleAppendEntries(Message m)
    {
        if (m.Index < _log.Committed)
        {
            // Everything up to our commit index already matches any leader's log (§5.4): say so.
            Send(new Message { Type = MessageType.AppendEntriesResponse, From = Id, To = m.From, Term = Term, Index = _log.Committed });
            return;
        }

        var lastNew = _log.MaybeAppend(m.Index, m.LogTerm, m.Commit, m.Entries);
        if (lastNew >= 0)
        {
            // Sent only after the appended entries are durable (it is in the after-persist list).
            Send(new Message { Type = MessageType.AppendEntriesResponse, From = Id, To = m.From, Term = Term, Index = lastNew });
            return;
        }

        // Fast back-off: point the leader at the last index whose term is at most the term it tried, so that one
        // round trip skips a whole conflicting term instead of one entry.
        var (hintIndex, hintTerm) = _log.FindConflictByTerm(Math.Min(m.Index, _log.LastIndex), m.LogTerm);
        Send(new Message
        {
            Type = MessageType.AppendEntriesResponse,
            From = Id,
            To = m.From,
            Term = Term,
            Index = m.Index,
            Reject = true,
            RejectHint = hintIndex,
            LogTerm = hintTerm,
        });
    }

    private void HandleHeartbeat(Message m)
    {
        _log.CommitTo(Math.Min(m.Commit, _log.LastIndex));
        Send(new Message { Type = MessageType.HeartbeatResponse, From = Id, To = m.From, Term = Term, Index = m.Index });
    }

    /// <summary>The leader's side of an AppendEntries answer.</summary>
    private void HandleAppendEntriesResponse(Message m, Progress progress)
    {
        if (m.Reject)
        {
            var nextProbe = m.RejectHint;
            if (m.LogTerm > 0)
            {
                // The follower's entry at RejectHint has term LogTerm: skip back past our entries of later terms.
                (nextProbe, _) = _log.FindConflictByTerm(m.RejectHint, m.LogTerm);
            }

            if (progress.MaybeDecreaseTo(m.Index, nextProbe))
            {
                if (progress.State == ProgressState.Replicate)
                {
                    progress.BecomeProbe();
                }

                // Probe again at once; an empty probe when the follower may already hold all we have.
                SendAppend(m.From, progress, sendIfEmpty: true);
            }

            return;
        }

        if (!progress.MaybeUpdate(m.Index))
        {
            return;
        }

        switch (progress.State)
        {
            case ProgressState.Probe:
                progress.BecomeReplicate();
                break;
            case ProgressState.Replicate:
                progress.Inflights.FreeLE(m.Index);
                break;
            case ProgressState.Snapshot when progress.Match >= progress.PendingSnapshot:
                // The follower installed the snapshot: stream the rest of the log.
                progress.BecomeProbe();
                progress.BecomeReplicate();
                break;
        }

        if (MaybeCommit())
        {
            _pendingCommitBroadcast = true;
        }

        // The window may have opened: keep the follower's pipeline full.
        var sent = false;
        while (SendAppend(m.From, progress, sendIfEmpty: false))
        {
            sent = true;
        }

        if (!sent && progress.CommitSent < _log.Committed)
        {
            // Nothing new to send, but a commit index this follower has not been told (it had appends in flight when
            // the commit moved): tell it now rather than with the next heartbeat.
            SendAppend(m.From, progress, sendIfEmpty: true);
        }
    }

    /// <summary>
    /// Advances the commit index to what a majority holds, but only through an entry of the current term:
    /// entries of earlier terms are committed indirectly (§5.4.2, Figure 8).
    /// </summary>
    private bool MaybeCommit()
    {
        var index = _tracker.CommittedIndex();
        if (index <= _log.Committed || _log.Term(index) != Term)
        {
            return false;
        }

        var previous = _log.Committed;
        _log.CommitTo(index);
        if (_log.Term(previous) != Term)
        {
            OnCommittedInCurrentTerm();
        }

        if (_options.MaxUncommittedEntriesSize > 0)
        {
            for (var i = previous + 1; i <= index; i++)
            {
                _uncommittedSize -= _log.At(i).Size;
            }

            _uncommittedSize = Math.Max(0, _uncommittedSize);
        }

        return true;
    }
}
