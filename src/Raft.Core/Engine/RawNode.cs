using Raft.Core.Membership;
using Raft.Core.Messages;

namespace Raft.Core.Engine;

/// <summary>
/// The Raft consensus engine for one node: a pure, synchronous state machine in the shape of etcd's RawNode.
/// </summary>
/// <remarks>
/// Feed it time with <see cref="Tick()"/>, peers' messages with <see cref="Step"/> and commands with
/// <see cref="Propose"/>; collect what it wants done with <see cref="GetReady"/>, carry it out in the order
/// <see cref="Ready"/> documents, then call <see cref="Advance"/>. It does no I/O, reads no clock, starts no thread
/// and draws randomness only from <see cref="RaftOptions.RandomSeed"/>, so the same inputs give the same outputs.
/// Not thread-safe: one caller (the consensus loop) at a time.
/// </remarks>
public sealed class RawNode
{
    private readonly RaftState _raft;

    /// <summary>Creates a node from its options and what it recovered from storage.</summary>
    /// <param name="options">The engine configuration; validated here.</param>
    /// <param name="initialState">The durable state found at start, or null for a brand-new node.</param>
    /// <param name="readStable">
    /// Reads durable entries back from the log store. With it the engine keeps only the newest
    /// <see cref="RaftOptions.RetainedLogEntries"/> durable, applied entries in memory; without it, every entry since the
    /// last snapshot.
    /// </param>
    /// <exception cref="ArgumentException">The options or the initial state are inconsistent.</exception>
    public RawNode(RaftOptions options, InitialState? initialState = null, StableEntryReader? readStable = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _raft = new RaftState(options, initialState ?? InitialState.Empty, readStable);
    }

    /// <summary>This node's id.</summary>
    public string Id => _raft.Id;

    /// <summary>A snapshot of this node's volatile and durable state, for status pages and tests.</summary>
    public RaftStatus Status => _raft.Status;

    // For the simulator's view of the engine's log: entries after HandedOutThrough are held in memory, not yet in a
    // ready (a leader's entries waiting to be sent, RaftState.PersistThrough).
    internal long HandedOutThrough => _raft.HandedOutThrough;

    internal long LastIndex => _raft.LastIndex;

    // The role and term now, for the runtime's per-message checks (Status builds a new object on every read).
    internal StateRole Role => _raft.Role;

    internal long Term => _raft.Term;

    internal string? LeaderId => _raft.LeaderId;

    internal Entry EntryAt(long index) => _raft.EntryAt(index);

    /// <summary>Advances logical time by one tick (election and heartbeat timers).</summary>
    public void Tick() => _raft.Tick();

    /// <summary>
    /// Takes <paramref name="count"/> timer firings at once, the late ticks of a leader whose host could not take them
    /// one by one (its loop was held): each counts, as <see cref="Tick()"/> does, for as long as the node leads, and one
    /// more is taken whatever its role then. Check-quorum judges once per burst: at the first end of a check window
    /// within it, with every message stepped before the burst. Nothing can be stepped between the burst's ticks, so a
    /// leader judged within it starts its next window when the burst ends, a whole election timeout before it is judged
    /// again (judged sooner, it would depose a leader whose followers answered while it was held, for want of answers
    /// it could not have seen). A leader sends one heartbeat round for
    /// the whole burst, stamped with its last tick, if any heartbeat fell due within it: the rounds of the earlier
    /// ticks would leave at the same moment and could only confirm older times.
    /// </summary>
    /// <param name="count">The firings; at least 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is less than 1.</exception>
    public void Tick(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        _raft.TickBurst(count);
    }

    /// <summary>
    /// A leader sends every follower a heartbeat now, as its heartbeat timer would (etcd's <c>MsgBeat</c>), without
    /// advancing logical time: for a host whose ticks must wait (a leader's loop holds them while its own writes run,
    /// see <see cref="Runtime.WhilePersisting"/>) but whose followers must keep hearing from it. The round is stamped
    /// with the last tick the node took, which is no later than now, so a lease it confirms can only come out shorter.
    /// Does nothing unless the node leads.
    /// </summary>
    public void Heartbeat() => _raft.Heartbeat();

    /// <summary>Starts an election now (pre-vote first when enabled), as if the election timer fired.</summary>
    public void Campaign() => _raft.Campaign();

    /// <summary>Handles a message from a peer.</summary>
    /// <param name="message">The message; one addressed to another node or from an unknown sender is ignored.</param>
    public void Step(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        _raft.Step(message);
    }

    /// <summary>Proposes a command to be appended to the log.</summary>
    /// <param name="data">The command bytes; the caller must not change them afterwards.</param>
    /// <returns>Where the command went, or why it was refused; an accepted command is not yet committed.</returns>
    /// <exception cref="ArgumentException">The command is larger than <see cref="RaftOptions.MaxEntrySize"/>.</exception>
    public ProposeOutcome Propose(ReadOnlyMemory<byte> data) => _raft.Propose(data);

    /// <summary>
    /// Proposes a single-server membership change (thesis §4.1). It takes effect on every node as soon as the entry is
    /// in its log; only one change may be pending at a time, and a new leader accepts one only after committing an
    /// entry of its own term.
    /// </summary>
    /// <param name="change">The change.</param>
    /// <returns>Where the change entry went, or why it was refused (<see cref="ProposeOutcome.Reason"/>).</returns>
    public ProposeOutcome ProposeConfigurationChange(ConfigurationChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        return _raft.ProposeConfigurationChange(change);
    }

    /// <summary>
    /// Hands leadership to <paramref name="target"/>, or to the most up-to-date voter when null (thesis §3.10): the
    /// leader stops accepting proposals, brings the target up to date and tells it to campaign at once. The transfer is
    /// abandoned after an election timeout.
    /// </summary>
    /// <param name="target">The node to hand leadership to, or null to choose.</param>
    /// <returns>Accepted with the chosen target in <see cref="ProposeOutcome.LeaderHint"/>, or why not.</returns>
    public ProposeOutcome TransferLeadership(string? target = null) => _raft.TransferLeadership(target);

    /// <summary>
    /// Asks for a linearizable read index (thesis §6.4). A <see cref="ReadState"/> with <paramref name="context"/>
    /// appears in a later <see cref="Ready.ReadStates"/>; serve the read once the state machine has applied its index.
    /// On a follower the request goes to the leader; it may be lost, so the host should time it out.
    /// </summary>
    /// <param name="context">Bytes that identify the read request.</param>
    /// <returns>Accepted, or NotLeader when no leader is known.</returns>
    public ProposeOutcome ReadIndex(ReadOnlyMemory<byte> context) => _raft.ReadIndex(context);

    /// <summary>
    /// Records a snapshot the host has stored durably (covering applied entries only) and drops the log entries it
    /// covers from memory, keeping <see cref="RaftOptions.SnapshotTrailingEntries"/> before it.
    /// </summary>
    /// <param name="snapshot">What the stored snapshot covers.</param>
    /// <returns>The index through which the host may now compact its log store.</returns>
    /// <exception cref="ArgumentException">The snapshot covers unapplied entries or disagrees with the log.</exception>
    public long Compact(SnapshotMetadata snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        return _raft.Compact(snapshot);
    }

    /// <summary>Tells the leader how sending a snapshot to <paramref name="nodeId"/> ended.</summary>
    /// <param name="nodeId">The follower the snapshot was sent to.</param>
    /// <param name="success">Whether the whole snapshot was delivered.</param>
    public void ReportSnapshot(string nodeId, bool success) => _raft.ReportSnapshot(nodeId, success);

    /// <summary>Tells the engine that messages to <paramref name="nodeId"/> are not getting through, so it probes that peer.</summary>
    /// <param name="nodeId">The unreachable peer.</param>
    public void ReportUnreachable(string nodeId) => _raft.ReportUnreachable(nodeId);

    /// <summary>True when <see cref="GetReady"/> has something to do.</summary>
    /// <returns>Whether a <see cref="Ready"/> is pending.</returns>
    public bool HasReady() => _raft.HasReady();

    /// <summary>Collects what must be persisted, sent and applied; call <see cref="Advance"/> once it is done.</summary>
    /// <returns>The pending work; may be empty.</returns>
    /// <exception cref="InvalidOperationException">The previous ready has not been advanced yet.</exception>
    public Ready GetReady() => _raft.GetReady();

    /// <summary>
    /// On a leader, hands out the committed entries not yet handed out, at any time, including between
    /// <see cref="GetReady"/> and <see cref="Advance"/>: entries a quorum of followers made durable may be applied while
    /// the leader's own append of them is still running (a leader needs no durable copy of its own to commit, thesis
    /// §10.2.1). Entries taken here do not appear in a later <see cref="Ready.CommittedEntries"/>; apply them after the
    /// committed entries of every earlier ready and before those of any later one.
    /// </summary>
    /// <returns>The newly committed entries in log order; empty on a node that is not the leader, whose committed
    /// entries come only with the ready that makes them durable.</returns>
    public IReadOnlyList<Entry> TakeCommittedEntries() => _raft.TakeCommittedEntries();

    /// <summary>
    /// Hands out the messages that may leave before any write of this node, at any time, including between
    /// <see cref="GetReady"/> and <see cref="Advance"/>, of the kind <see cref="Ready.Messages"/> carries. On a leader:
    /// its AppendEntries, heartbeats, snapshots and TimeoutNow of its current term made so far (for instance by
    /// stepping acknowledgements); entries proposed since the last ready go here only to followers with nothing in
    /// flight, a busy follower gets them when it acknowledges, or with the next ready. On a follower: its answers to
    /// the leader's heartbeats in a term already durable here, which acknowledge no entry and no vote. Send them as
    /// <see cref="Ready.Messages"/> are sent; they do not appear in a later ready.
    /// </summary>
    /// <returns>The messages in the order they were made; empty on a candidate or pre-candidate.</returns>
    public IReadOnlyList<Message> TakeMessages() => _raft.TakeMessages();

    /// <summary>Acknowledges that <paramref name="ready"/>'s writes are durable and its messages sent.</summary>
    /// <param name="ready">The ready returned by the last <see cref="GetReady"/>.</param>
    /// <exception cref="InvalidOperationException"><paramref name="ready"/> is not the outstanding ready.</exception>
    public void Advance(Ready ready)
    {
        ArgumentNullException.ThrowIfNull(ready);
        _raft.Advance(ready);
    }
}
