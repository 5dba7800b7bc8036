using Raft.Core.Membership;
using Raft.Core.Messages;

namespace Raft.Core.Engine;

/// <summary>Single-server membership changes (thesis §4.1) that take effect as soon as they are appended.</summary>
internal sealed partial class RaftState
{
    // Leader only: every node that was a member of a configuration in force during this leader's term. A node removed
    // in this term is not added back in it: answers it sent in this term as a member (an acknowledgement, a heartbeat
    // answer) may still be on their way, and this leader would count them for the re-added node, which may no longer
    // hold what they acknowledge (a match index below which its rejections are dropped as stale, so it would never get
    // what it lacks). A later term makes them stale, and every node ignores them.
    private readonly HashSet<string> _membersThisTerm = new(StringComparer.Ordinal);

    public ProposeOutcome ProposeConfigurationChange(ConfigurationChange change)
    {
        if (Role != StateRole.Leader)
        {
            return new ProposeOutcome(ProposeStatus.NotLeader, 0, 0, LeaderId);
        }

        if (_leadTransferee is not null)
        {
            return new ProposeOutcome(ProposeStatus.Dropped, 0, 0, Id, $"Leadership is being transferred to '{_leadTransferee}'; retry with the new leader.");
        }

        if (_log.Term(_log.Committed) != Term)
        {
            // Thesis errata (raft-dev, 2015): until a leader commits an entry of its own term, a change from a
            // previous leader may still be uncommitted, and a second overlapping change could split the majorities.
            return new ProposeOutcome(ProposeStatus.Dropped, 0, 0, Id, "The new leader has not committed an entry of its term yet; retry in a moment.");
        }

        if (_log.ConfigurationIndex > _log.Committed)
        {
            return new ProposeOutcome(
                ProposeStatus.Rejected, 0, 0, Id,
                $"A configuration change (index {_log.ConfigurationIndex}) is still pending; only one change at a time is allowed. Wait for it to commit, then retry.");
        }

        if (change.Kind == ConfigurationChangeKind.AddLearner
            && !_log.Configuration.Contains(change.NodeId)
            && _membersThisTerm.Contains(change.NodeId))
        {
            return new ProposeOutcome(
                ProposeStatus.Rejected, 0, 0, Id,
                $"Node '{change.NodeId}' was a member earlier in term {Term}, and what it sent then may still arrive and be counted for it. " +
                "Add it back after a leadership change (TransferLeadershipAsync, then retry on the new leader).");
        }

        ClusterConfiguration next;
        try
        {
            next = _log.Configuration.Apply(change);
        }
        catch (InvalidOperationException ex)
        {
            return new ProposeOutcome(ProposeStatus.Rejected, 0, 0, Id, ex.Message);
        }

        NoteMembersThisTerm(next);

        var entry = new Entry(_log.LastIndex + 1, Term, EntryType.ConfigChange, next.Encode());
        _log.Append(entry);
        _uncommittedSize += entry.Size;
        _pendingBroadcast = true;
        SyncConfiguration();
        return new ProposeOutcome(ProposeStatus.Accepted, entry.Index, entry.Term, Id);
    }

    private void NoteMembersThisTerm(ClusterConfiguration configuration)
    {
        _membersThisTerm.UnionWith(configuration.Voters);
        _membersThisTerm.UnionWith(configuration.Learners);
    }

    /// <summary>
    /// A leader that removed itself keeps leading until that change commits, without counting itself in majorities
    /// (thesis §4.2.2), then steps down.
    /// </summary>
    private void MaybeStepDownAfterRemoval()
    {
        if (Role == StateRole.Leader && !_tracker.IsVoter(Id) && _log.Committed >= _log.ConfigurationIndex)
        {
            BecomeFollower(Term, null);
        }
    }
}
