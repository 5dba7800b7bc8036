using Raft.Core.Engine;
using Raft.Core.Messages;

namespace Raft.Core.Runtime;

/// <summary>
/// What a leader's host may do while the durable writes of its outstanding <see cref="Ready"/> run: step the
/// followers' acknowledgements and apply what they commit (<see cref="RawNode.TakeCommittedEntries"/>), and take new
/// proposals and replicate them, instead of leaving both queued until its own fsync returns. The one place where that
/// rule lives, shared by <see cref="RaftNode"/> and the deterministic simulator.
/// </summary>
/// <remarks>
/// <para>
/// Why: a leader sends its AppendEntries before its own append starts, so the followers' acknowledgements of a batch
/// arrive while the leader is already writing the next one. A loop that steps them only after that write waits one
/// whole fsync per commit for nothing: a leader needs no durable copy of its own to commit (thesis §10.2.1), and
/// etcd's node loop steps messages while a Ready is out.
/// </para>
/// <para>
/// What: acknowledgements of the leader's current term (AppendEntries and heartbeat responses) are stepped, and
/// proposals appended, as they arrive; the AppendEntries this makes leave at once (<see cref="RawNode.TakeMessages"/>:
/// a leader's own appends never wait for its writes), so the followers are not held up by the leader's fsync either.
/// Every other input (ticks, requests from other nodes, anything of another term) waits for the writes, so role and
/// term cannot change while they run. Entries committed meanwhile are applied after the ready's own committed entries,
/// which are applied before its writes start (<see cref="AppliesFirst"/>). Everything else of the ready (persisted
/// messages, read states, <see cref="RawNode.Advance"/>) still waits for the writes; entries proposed meanwhile are
/// written with the next ready.
/// </para>
/// </remarks>
public static class WhilePersisting
{
    /// <summary>Whether a leader may step acknowledgements and proposals while <paramref name="ready"/>'s writes run.</summary>
    /// <param name="ready">The outstanding ready.</param>
    /// <param name="isLeader">Whether this node led when the ready was taken (before the ready's own soft state).</param>
    /// <returns>True when the node leads and the ready changes neither role nor term and installs no snapshot.</returns>
    public static bool Allowed(Ready ready, bool isLeader)
    {
        ArgumentNullException.ThrowIfNull(ready);
        return isLeader && ready.SoftState is null && ready.Snapshot is null;
    }

    /// <summary>
    /// Whether <paramref name="ready"/>'s committed entries may be applied before its writes start: when each was
    /// durable here before the ready, or when the node leads through the ready (<see cref="Allowed"/>; a quorum of
    /// followers committed them, the leader's own copy is not needed). Otherwise (a follower learning of a commit with
    /// the entries themselves) they wait for the writes.
    /// </summary>
    /// <param name="ready">The ready.</param>
    /// <param name="isLeader">Whether this node led when the ready was taken.</param>
    /// <returns>True when the ready has committed entries that may be applied first.</returns>
    public static bool AppliesFirst(Ready ready, bool isLeader)
    {
        ArgumentNullException.ThrowIfNull(ready);
        return ready.Snapshot is null && ready.CommittedEntries.Count > 0 &&
            (ready.Entries.Count == 0 || ready.CommittedEntries[^1].Index < ready.Entries[0].Index || Allowed(ready, isLeader));
    }

    /// <summary>Whether <paramref name="message"/> may be stepped while the writes of an allowed ready run.</summary>
    /// <param name="message">A message received from a peer.</param>
    /// <param name="term">The leader's current term.</param>
    /// <returns>True for an AppendEntries or heartbeat response of <paramref name="term"/>.</returns>
    public static bool CanStep(Message message, long term)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Term == term && message.Type is MessageType.AppendEntriesResponse or MessageType.HeartbeatResponse;
    }
}
