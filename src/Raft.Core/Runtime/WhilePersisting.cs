using Raft.Core.Engine;
using Raft.Core.Messages;

namespace Raft.Core.Runtime;

/// <summary>
/// What a leader's host may do while the durable writes of its outstanding <see cref="Ready"/> run: step the
/// followers' acknowledgements and apply what they commit (<see cref="RawNode.TakeCommittedEntries"/>), instead of
/// leaving them queued until its own fsync returns. The one place where that rule lives, shared by
/// <see cref="RaftNode"/> and the deterministic simulator.
/// </summary>
/// <remarks>
/// <para>
/// Why: a leader sends its AppendEntries before its own append starts, so the followers' acknowledgements of a batch
/// arrive while the leader is already writing the next one. A loop that steps them only after that write waits one
/// whole fsync per commit for nothing: a leader needs no durable copy of its own to commit (thesis §10.2.1), and
/// etcd's node loop steps messages while a Ready is out.
/// </para>
/// <para>
/// What: only acknowledgements of the leader's current term are stepped early (AppendEntries and heartbeat
/// responses); every other input (proposals, ticks, requests from other nodes, anything of another term) waits for
/// the writes, so role and term cannot change while they run. Entries committed meanwhile are applied after the
/// ready's own committed entries, which therefore must all be durable before the ready (applied before its writes
/// start). Everything else of the ready (persisted messages, read states, <see cref="RawNode.Advance"/>) still waits
/// for the writes.
/// </para>
/// </remarks>
public static class WhilePersisting
{
    /// <summary>Whether a leader may step acknowledgements while <paramref name="ready"/>'s writes run.</summary>
    /// <param name="ready">The outstanding ready.</param>
    /// <param name="isLeader">Whether this node led when the ready was taken (before the ready's own soft state).</param>
    /// <returns>True when the node leads, the ready changes neither role nor term, installs no snapshot, and commits
    /// only entries that were durable before it.</returns>
    public static bool Allowed(Ready ready, bool isLeader)
    {
        ArgumentNullException.ThrowIfNull(ready);
        return isLeader &&
            ready.SoftState is null &&
            ready.Snapshot is null &&
            (ready.CommittedEntries.Count == 0 || ready.Entries.Count == 0 || ready.CommittedEntries[^1].Index < ready.Entries[0].Index);
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
