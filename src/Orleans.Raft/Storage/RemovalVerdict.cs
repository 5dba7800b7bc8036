using Orleans.Raft.Networking;

namespace Orleans.Raft.Storage;

// Whether the other silos' answers say that a node which hears from no leader was removed from the group (see
// RaftGrainStorage.Removal.cs). Only a leader's answer about itself counts, in the asking node's term or later, the
// latest term deciding: a follower may lag (still catching up, it may not hold the node's addition yet) while this
// node cannot reach the leader, and its word would tell a healthy member it was removed. No such answer says nothing
// either way.
internal static class RemovalVerdict
{
    public enum Outcome
    {
        Unknown,
        Member,
        Removed,
    }

    // The outcome, and the leader's answer it rests on (null when unknown).
    public static (Outcome Outcome, RaftPeerView? Leader) Decide(string nodeId, long term, IEnumerable<RaftPeerView> answers)
    {
        var leaders = answers.Where(v => v.LeaderId == v.NodeId && v.Term >= term).ToList();
        if (leaders.Count == 0)
        {
            return (Outcome.Unknown, null);
        }

        var latest = leaders.Max(v => v.Term);
        var deciding = leaders.Where(v => v.Term == latest).ToList();
        return deciding.FirstOrDefault(v => v.Configuration.Contains(nodeId)) is { } holding
            ? (Outcome.Member, holding)
            : (Outcome.Removed, deciding[0]);
    }
}
