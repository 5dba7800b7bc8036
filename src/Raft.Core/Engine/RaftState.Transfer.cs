using Raft.Core.Messages;

namespace Raft.Core.Engine;

/// <summary>Leadership transfer (thesis §3.10).</summary>
internal sealed partial class RaftState
{
    // Vote requests of a transfer election carry this context, so that voters skip the leader-lease check: the
    // current leader asked for the election.
    private static readonly ReadOnlyMemory<byte> TransferContext = "transfer"u8.ToArray();

    private string? _leadTransferee;
    private int _transferElapsed;

    public ProposeOutcome TransferLeadership(string? target)
    {
        if (Role != StateRole.Leader)
        {
            return new ProposeOutcome(ProposeStatus.NotLeader, 0, 0, LeaderId);
        }

        target ??= MostUpToDateVoter();
        if (target is null)
        {
            return new ProposeOutcome(ProposeStatus.Rejected, 0, 0, Id, "There is no other voter to transfer leadership to.");
        }

        if (target == Id)
        {
            return new ProposeOutcome(ProposeStatus.Rejected, 0, 0, Id, "This node is already the leader.");
        }

        if (!_tracker.IsVoter(target))
        {
            return new ProposeOutcome(ProposeStatus.Rejected, 0, 0, Id, $"Node '{target}' is not a voter; only a voter can become leader.");
        }

        _leadTransferee = target;
        _transferElapsed = 0;
        _transferAttemptedInTerm = true;
        var progress = _tracker[target];
        if (progress.Match == _log.LastIndex)
        {
            SendTimeoutNow(target);
        }
        else
        {
            // Bring it up to date first; the acknowledgement that completes its log triggers TimeoutNow.
            SendAppend(target, progress, sendIfEmpty: true);
        }

        return new ProposeOutcome(ProposeStatus.Accepted, 0, Term, target);
    }

    private string? MostUpToDateVoter()
    {
        string? best = null;
        long bestMatch = -1;
        foreach (var voter in _tracker.Voters.Voters)
        {
            if (voter != Id && _tracker[voter].Match > bestMatch)
            {
                best = voter;
                bestMatch = _tracker[voter].Match;
            }
        }

        return best;
    }

    private void MaybeCompleteTransfer(string from, Tracking.Progress progress)
    {
        if (from == _leadTransferee && progress.Match == _log.LastIndex)
        {
            SendTimeoutNow(from);
        }
    }

    private void SendTimeoutNow(string to) =>
        Send(new Message { Type = MessageType.TimeoutNow, From = Id, To = to, Term = Term });
}
