using Orleans.Raft.Networking;

namespace Orleans.Raft.Storage;

// Whether the other silos' answers say that a node which hears from no leader was removed from the group (see
// RaftGrainStorage.Removal.cs). Only answers from nodes that know a leader in the asking node's term or later count.
// The leader's own answer (of the latest term among them) decides when there is one; otherwise every counted follower
// must leave the node out, since a follower still catching up may not hold the node's addition yet.
internal static class RemovalVerdict
{
    // The answer that shows the removal, or null when the answers do not.
    public static RaftPeerView? Decide(string nodeId, long term, IEnumerable<RaftPeerView> answers)
    {
        var informed = answers.Where(v => v.LeaderId is not null && v.Term >= term).ToList();
        var leaders = informed.Where(v => v.NodeId == v.LeaderId).ToList();
        var deciding = leaders.Count > 0 ? leaders.Where(v => v.Term == leaders.Max(l => l.Term)).ToList() : informed;
        return deciding.Count == 0 || deciding.Any(v => v.Configuration.Contains(nodeId)) ? null : deciding.MaxBy(v => v.Term);
    }
}
