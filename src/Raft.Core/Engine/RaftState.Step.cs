using Raft.Core.Messages;
using Raft.Core.Quorum;

namespace Raft.Core.Engine;

/// <summary>Message handling: the term rules every message obeys, then votes, then the role's own handling.</summary>
internal sealed partial class RaftState
{
    public void Step(Message m)
    {
        if (m.To != Id || m.From == Id)
        {
            return;
        }

        if (m.Term > Term)
        {
            if (m.Type is MessageType.Vote or MessageType.PreVote)
            {
                // Thesis §4.2.3: a node that heard from a leader within the minimum election timeout ignores vote
                // requests, so a removed or partitioned node cannot depose a working leader.
                // A transfer election was asked for by the leader itself, so the lease does not apply to it.
                if (InLeaderLease && !IsTransferVote(m))
                {
                    return;
                }
            }

            if (m.Type == MessageType.PreVote)
            {
                // A pre-vote request carries the term the sender would campaign in; it changes nothing here.
            }
            else if (m.Type == MessageType.PreVoteResponse && !m.Reject)
            {
                // Granted pre-votes carry our own future term; we move to it only when we win the pre-vote.
            }
            else if (m.Type is MessageType.AppendEntries or MessageType.Heartbeat or MessageType.InstallSnapshot)
            {
                BecomeFollower(m.Term, m.From);
            }
            else if (m.Type == MessageType.Vote)
            {
                // Figure 2: a follower's election timer restarts on its leader's AppendEntries or on granting a vote,
                // not on seeing a newer term; HandleVoteRequest restarts it if the vote is granted. Restarted here,
                // a candidate whose log is behind, campaigning again and again without pre-vote, kept the voters that
                // could win from ever timing out (simulator seed 642033 of the slow-leader lease family).
                BecomeFollowerKeepingElectionTimer(m.Term);
            }
            else
            {
                BecomeFollower(m.Term, null);
            }
        }
        else if (m.Term < Term)
        {
            if (m.Type is MessageType.AppendEntries or MessageType.Heartbeat)
            {
                // Figure 2: reply with our term, so a stale leader steps down. Without it, a node whose vote requests
                // reach nobody (e.g. its configuration's other voters were removed) could stay unknown to the real
                // leader forever (simulator seeds 678, 2143).
                Send(new Message { Type = MessageType.AppendEntriesResponse, From = Id, To = m.From, Term = Term, Index = m.Index, Reject = true, RejectHint = _log.LastIndex, LogTerm = 0 });
            }
            else if (m.Type == MessageType.PreVote)
            {
                Send(new Message { Type = MessageType.PreVoteResponse, From = Id, To = m.From, Term = Term, Reject = true });
            }
            else if (m.Type == MessageType.Vote)
            {
                // Figure 2: reply false with our term, so the candidate moves up to it. Ignored (as etcd does), a
                // candidate may never learn a term it has to beat: a voter whose configuration is stale sends its own
                // vote requests to others, campaigns in ever higher terms and refuses every lower one, and no leader
                // emerges (simulator seed 1048).
                Send(new Message { Type = MessageType.VoteResponse, From = Id, To = m.From, Term = Term, Reject = true });
            }

            return;
        }

        switch (m.Type)
        {
            case MessageType.Vote:
            case MessageType.PreVote:
                HandleVoteRequest(m);
                return;
        }

        switch (Role)
        {
            case StateRole.Leader:
                StepLeader(m);
                break;
            case StateRole.Candidate:
            case StateRole.PreCandidate:
                StepCandidate(m);
                break;
            default:
                StepFollower(m);
                break;
        }

        AfterInput();
    }

    /// <summary>Reacts to what any input may have changed: the configuration in the log, and a committed self-removal.</summary>
    private void AfterInput()
    {
        SyncConfiguration();
        MaybeStepDownAfterRemoval();
    }

    /// <summary>§5.2, §5.4.1: grant at most one vote per term, and only to a candidate whose log is at least as up-to-date.</summary>
    private void HandleVoteRequest(Message m)
    {
        // The lease holds in this term too: a node moved into the candidate's term by some other message (a stale vote
        // answer of that term, say) forgot its leader but not its promise to it.
        var canVote =
            (VotedFor == m.From ||
             (VotedFor is null && LeaderId is null) ||
             (m.Type == MessageType.PreVote && m.Term > Term)) &&
            (!InLeaderLease || IsTransferVote(m) || VotedFor == m.From);
        var responseType = m.Type == MessageType.Vote ? MessageType.VoteResponse : MessageType.PreVoteResponse;
        if (canVote && _log.IsUpToDate(m.Index, m.LogTerm))
        {
            // The grant carries the request's term: for a pre-vote that is a future term, which tells the
            // pre-candidate that we would vote for it there.
            Send(new Message { Type = responseType, From = Id, To = m.From, Term = m.Term });
            if (m.Type == MessageType.Vote)
            {
                // Only a real vote restarts the election timer; granting a pre-vote must not, or a node that
                // cannot win could keep others from ever campaigning (hashicorp/raft#609).
                _electionElapsed = 0;
                VotedFor = m.From;
            }
        }
        else
        {
            Send(new Message { Type = responseType, From = Id, To = m.From, Term = Term, Reject = true });
        }
    }

    private void StepFollower(Message m)
    {
        switch (m.Type)
        {
            case MessageType.AppendEntries:
                _electionElapsed = 0;
                _leaderContactElapsed = 0;
                LeaderId = m.From;
                HandleAppendEntries(m);
                break;
            case MessageType.Heartbeat:
                _electionElapsed = 0;
                _leaderContactElapsed = 0;
                LeaderId = m.From;
                HandleHeartbeat(m);
                break;
            case MessageType.InstallSnapshot:
                _electionElapsed = 0;
                _leaderContactElapsed = 0;
                LeaderId = m.From;
                HandleInstallSnapshot(m);
                break;
            case MessageType.ReadIndexResponse:
                StepReadIndexResponse(m);
                break;
            case MessageType.TimeoutNow:
                // Leadership transfer (thesis §3.10): campaign at once, skipping pre-vote, which the leader's
                // followers would refuse while they still hear from it.
                if (Promotable)
                {
                    BecomeCandidate();
                    RequestVotes(MessageType.Vote, Term, transfer: true);
                }

                break;
        }
    }

    private void StepCandidate(Message m)
    {
        var expected = Role == StateRole.PreCandidate ? MessageType.PreVoteResponse : MessageType.VoteResponse;
        switch (m.Type)
        {
            // A candidate that hears from its term's leader follows it, and its answer makes the same promise a
            // follower's does: counted from now (review of session 30: counted from the leader it timed out on, the
            // promise had run out, and it voted at once for another candidate inside the lease its answer granted).
            case MessageType.AppendEntries:
                BecomeFollower(m.Term, m.From);
                _leaderContactElapsed = 0;
                HandleAppendEntries(m);
                break;
            case MessageType.Heartbeat:
                BecomeFollower(m.Term, m.From);
                _leaderContactElapsed = 0;
                HandleHeartbeat(m);
                break;
            case MessageType.InstallSnapshot:
                BecomeFollower(m.Term, m.From);
                _leaderContactElapsed = 0;
                HandleInstallSnapshot(m);
                break;
            case var t when t == expected:
                switch (Poll(m.From, m.Type, !m.Reject))
                {
                    case VoteResult.Won:
                        if (Role == StateRole.PreCandidate)
                        {
                            BecomeCandidate();
                            RequestVotes(MessageType.Vote, Term);
                        }
                        else
                        {
                            BecomeLeader();
                        }

                        break;
                    case VoteResult.Lost:
                        // A rejected pre-vote with a newer term already made us a follower above.
                        BecomeFollower(Term, null);
                        break;
                }

                break;
        }
    }

    private void StepLeader(Message m)
    {
        var progress = _tracker.Get(m.From);
        if (progress is null)
        {
            return;
        }

        switch (m.Type)
        {
            case MessageType.AppendEntriesResponse:
                progress.RecentActive = true;
                HandleAppendEntriesResponse(m, progress);
                MaybeCompleteTransfer(m.From, progress);
                break;
            case MessageType.ReadIndex:
                HandleReadRequest(m.From, m.Context);
                break;
            case MessageType.HeartbeatResponse:
                progress.RecentActive = true;
                OnRoundAcknowledged(progress, m.Index);
                progress.ProbeSent = false;
                if (progress.State == Tracking.ProgressState.Replicate
                    && (progress.Inflights.Full || (progress.Inflights.Count > 0 && _options.MinPipelinedAppendBytes > 0)))
                {
                    // If appends in the window were lost, no acknowledgement will ever free it (or, below
                    // MinPipelinedAppendBytes, release the batches waiting behind it): let one more append through;
                    // a follower with a gap rejects it and the leader falls back to probing.
                    progress.Inflights.FreeFirstOne();
                }

                if (progress.Match < _log.LastIndex)
                {
                    // Even with nothing new to send (in replicate state Next may be past appends that were lost), an
                    // empty append makes a follower with a gap reject it, which sends the leader back to probing.
                    SendAppend(m.From, progress, sendIfEmpty: true);
                }

                break;
        }
    }

    public void ReportUnreachable(string nodeId)
    {
        // Messages to it may have been lost: stop streaming optimistically and probe again.
        if (Role == StateRole.Leader && _tracker.Get(nodeId) is { State: Tracking.ProgressState.Replicate } progress)
        {
            progress.BecomeProbe();
        }
    }
}
