using Raft.Core.Messages;

namespace Raft.Core.Engine;

/// <summary>
/// Everything the engine wants done after a round of input: state to persist, messages to send and
/// committed entries to apply. The host carries it out in the order these fields document, then calls
/// <see cref="RawNode.Advance(Ready)"/>.
/// </summary>
/// <remarks>
/// The order, which is what makes Raft safe on real disks:
/// <list type="number">
/// <item><description><see cref="Messages"/> may be sent at once, before and while the writes below run. They are
/// only the leader's AppendEntries and heartbeats of its current term: a leader counts its own copy of an entry
/// only after <see cref="RawNode.Advance(Ready)"/> says it is durable, so sending in parallel with the local write
/// is safe (thesis §10.2.1).</description></item>
/// <item><description><see cref="HardState"/> and <see cref="Entries"/> must be durable (fsync) before any of
/// <see cref="PersistedMessages"/> leaves: those include vote grants and append acknowledgements, and a node must
/// never promise what a crash could make it forget (§5.2, §5.3, Figure 2).</description></item>
/// <item><description><see cref="CommittedEntries"/> may be applied once <see cref="Entries"/> are durable; they
/// are given in log order and must be applied in that order.</description></item>
/// <item><description>Call <see cref="RawNode.Advance(Ready)"/> after the writes completed (apply may still run).</description></item>
/// </list>
/// </remarks>
public sealed class Ready
{
    internal Ready(
        SoftState? softState,
        HardState? hardState,
        IReadOnlyList<Entry> entries,
        IReadOnlyList<Message> messages,
        IReadOnlyList<Message> persistedMessages,
        IReadOnlyList<Entry> committedEntries,
        SnapshotMetadata? snapshot = null,
        IReadOnlyList<ReadState>? readStates = null)
    {
        Snapshot = snapshot;
        ReadStates = readStates ?? [];
        SoftState = softState;
        HardState = hardState;
        Entries = entries;
        Messages = messages;
        PersistedMessages = persistedMessages;
        CommittedEntries = committedEntries;
    }

    /// <summary>The new role, leader or term, when any of them changed since the previous <see cref="Ready"/>; never persisted.</summary>
    public SoftState? SoftState { get; }

    /// <summary>Term, vote and commit index to persist, when they changed; durable before <see cref="PersistedMessages"/> are sent.</summary>
    public HardState? HardState { get; }

    /// <summary>
    /// Entries to append to the log store, durable before <see cref="PersistedMessages"/> are sent. When the first
    /// entry's index is not past the store's last index, the store first discards its entries from that index on
    /// (a follower dropping a conflicting, uncommitted suffix, §5.3).
    /// </summary>
    public IReadOnlyList<Entry> Entries { get; }

    /// <summary>
    /// A snapshot received from the leader that replaces this node's log and state (§7). Before anything else in this
    /// ready is written, the log store must be reset to start after <see cref="SnapshotMetadata.Index"/>
    /// (the log store's reset), and the state machine must be restored from that snapshot before
    /// <see cref="CommittedEntries"/> are applied.
    /// </summary>
    public SnapshotMetadata? Snapshot { get; }

    /// <summary>
    /// Read indexes confirmed since the last ready (thesis §6.4): serve each read once the state machine has applied up
    /// to its index. They need no persistence.
    /// </summary>
    public IReadOnlyList<ReadState> ReadStates { get; }

    /// <summary>Messages that may be sent immediately, in parallel with persisting (the leader's own appends).</summary>
    public IReadOnlyList<Message> Messages { get; }

    /// <summary>Messages that may be sent only after <see cref="HardState"/> and <see cref="Entries"/> are durable.</summary>
    public IReadOnlyList<Message> PersistedMessages { get; }

    /// <summary>Committed entries to apply, in log order, once <see cref="Entries"/> are durable.</summary>
    public IReadOnlyList<Entry> CommittedEntries { get; }

    /// <summary>True when the ready asks for nothing to be written (no hard state and no entries).</summary>
    public bool HasNothingToPersist => HardState is null && Entries.Count == 0 && Snapshot is null;
}
