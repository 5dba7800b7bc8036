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
/// A follower, likewise, answers its leader's heartbeats while its writes run (<see cref="FollowerAllowed"/>,
/// <see cref="CanStepAsFollower"/>): a heartbeat response acknowledges no entry and no vote, only that the follower
/// heard from the leader in a term already durable here, so it needs no write. A follower whose disk stalls for an
/// election timeout (seen in the grpc benchmark: the first write of both followers took ~170 ms beside a burst of
/// fdatasyncs, and check-quorum deposed their leader 4 ms before they answered) otherwise looks dead to its leader.
/// The heartbeat may raise the follower's commit index, but only to what it acknowledged (the leader never sends more
/// than a follower's match), and the entries it commits are applied after the writes, with the next ready.
/// </para>
/// <para>
/// What: acknowledgements of the leader's current term (AppendEntries and heartbeat responses) are stepped, and
/// proposals appended, as they arrive; the AppendEntries this makes leave at once (<see cref="RawNode.TakeMessages"/>:
/// a leader's own appends never wait for its writes), so the followers are not held up by the leader's fsync either.
/// Every other input (ticks, requests from other nodes, anything of another term) waits for the writes, so role and
/// term cannot change while they run. A leader's timer still fires meanwhile: every <see cref="RaftOptions.HeartbeatTick"/>
/// firings it sends a heartbeat round (<see cref="HeartbeatDue"/>, <see cref="RawNode.Heartbeat"/>), so that its followers
/// keep hearing from it through a long write of its own, up to an election timeout of it (a longer one is a hung disk,
/// and the followers had better elect another leader); the ticks themselves (and with them check-quorum's judgement,
/// which sees the answers stepped meanwhile) come after the writes. Entries committed meanwhile are applied after the ready's own committed entries,
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
    /// Whether a new leader may heartbeat and step its followers' acknowledgements while the writes of
    /// <paramref name="ready"/>, the one in which it became leader, run: it may not take proposals meanwhile, nor hand
    /// out committed entries, whose bookkeeping starts once the ready is advanced. Without this its first append (its
    /// no-op) ran with nothing sent, and a disk stall of an election timeout right after the election deposed it.
    /// </summary>
    /// <param name="ready">The outstanding ready.</param>
    /// <param name="durableTerm">The term this node had saved before the ready (that of the last ready it advanced).</param>
    /// <returns>True when the ready makes the node leader in a term already durable and installs no snapshot.</returns>
    /// <remarks>
    /// A node elected by other voters saved its term as a candidate, before it asked for votes; a lone voter elects
    /// itself in the ready that saves the term, and this rule adds no heartbeat of that term (to its learners) before
    /// the write that makes it durable ends.
    /// </remarks>
    public static bool NewLeaderAllowed(Ready ready, long durableTerm)
    {
        ArgumentNullException.ThrowIfNull(ready);
        return ready.SoftState is { Role: StateRole.Leader } soft && soft.Term == durableTerm && ready.Snapshot is null;
    }

    /// <summary>Whether a follower may answer its leader's heartbeats while <paramref name="ready"/>'s writes run.</summary>
    /// <param name="ready">The outstanding ready.</param>
    /// <param name="isFollower">Whether this node follows with the ready taken (its soft state, or the one before it).</param>
    /// <param name="leaderId">The leader it follows with the ready taken, if it knows one.</param>
    /// <returns>True when the node follows a known leader and the ready installs no snapshot.</returns>
    /// <remarks>
    /// The ready may be the one in which the node learned its leader (the first append of a new leader): a stall of
    /// that write must not silence it either (seen in the grpc benchmark: both followers' first append after an
    /// election took 293 and 504 ms, and check-quorum deposed the new leader). The answers leave early only in a term
    /// already durable (the engine holds the others until the writes end), and a heartbeat of the followed leader's
    /// term changes neither role nor term.
    /// </remarks>
    public static bool FollowerAllowed(Ready ready, bool isFollower, string? leaderId)
    {
        ArgumentNullException.ThrowIfNull(ready);
        return isFollower && leaderId is not null && ready.Snapshot is null;
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

    /// <summary>
    /// Whether a leader whose writes run (and whose ticks therefore wait) should send a heartbeat round now: every
    /// <paramref name="heartbeatTick"/> timer firings not yet taken as ticks, for as long as there are no more than
    /// <paramref name="electionTick"/> of them. A longer wait means a hung disk: the leader then falls silent, so that
    /// its followers elect another (it could still commit with them, but every read, membership change and transfer
    /// waits for its writes). Its followers campaign no sooner than an election timeout after the last heartbeat, so a
    /// stall of up to about two election timeouts keeps the leader. The firings are counted from the last tick taken,
    /// not from the start of the writes, so that one that came just before they started counts too. The runtime host
    /// applies the same rule while it waits for room in a full apply queue (a state machine that fell behind).
    /// </summary>
    /// <param name="firedSinceLastTick">Timer firings since the last tick the node took: all of them wait for the writes.</param>
    /// <param name="firedSinceLastBeat">Of those, the firings since the last heartbeat sent meanwhile (all of them before the first).</param>
    /// <param name="heartbeatTick"><see cref="RaftOptions.HeartbeatTick"/>.</param>
    /// <param name="electionTick"><see cref="RaftOptions.ElectionTick"/>.</param>
    /// <returns>True when a heartbeat is due.</returns>
    public static bool HeartbeatDue(int firedSinceLastTick, int firedSinceLastBeat, int heartbeatTick, int electionTick) =>
        firedSinceLastBeat >= heartbeatTick && firedSinceLastTick <= electionTick;

    /// <summary>Whether <paramref name="message"/> may be stepped while the writes of an allowed ready run.</summary>
    /// <param name="message">A message received from a peer.</param>
    /// <param name="term">The leader's current term.</param>
    /// <returns>True for an AppendEntries or heartbeat response of <paramref name="term"/>.</returns>
    public static bool CanStep(Message message, long term)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Term == term && message.Type is MessageType.AppendEntriesResponse or MessageType.HeartbeatResponse;
    }

    /// <summary>Whether a follower may step <paramref name="message"/> while the writes of a ready <see cref="FollowerAllowed"/> admits run.</summary>
    /// <param name="message">A message received from a peer.</param>
    /// <param name="term">The follower's current term.</param>
    /// <param name="leaderId">The leader it follows.</param>
    /// <returns>True for a heartbeat of <paramref name="term"/> from <paramref name="leaderId"/>.</returns>
    public static bool CanStepAsFollower(Message message, long term, string? leaderId)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.Type == MessageType.Heartbeat && message.Term == term && leaderId is not null && message.From == leaderId;
    }
}
