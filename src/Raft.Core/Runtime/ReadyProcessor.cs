using Raft.Core.Engine;
using Raft.Core.Messages;
using Raft.Core.Storage;
using Raft.Core.Transport;

namespace Raft.Core.Runtime;

/// <summary>
/// Carries out the persist-and-send part of a <see cref="Ready"/> in the order it documents; the one place in the
/// code base where that order lives, shared by <see cref="RaftNode"/> and the deterministic simulator.
/// </summary>
/// <remarks>
/// <para>The order:</para>
/// <list type="number">
/// <item><description><see cref="Ready.Messages"/> leave at once: the leader's own appends, which may go out in parallel
/// with its local write because the leader counts its own copy only after it is durable (thesis §10.2.1), and a
/// follower's answers to heartbeats in a term already durable, which claim no entry and no vote.</description></item>
/// <item><description>A <see cref="Ready.HardState"/> that changes the term or the vote is made durable first, then
/// <see cref="Ready.Entries"/> are appended and made durable: were the two writes concurrent, a crash could keep the
/// entries and lose the term, and the recovered log would hold a term later than the recovered hard state (a node
/// meeting a new leader raises its term and appends that leader's entries in one ready).</description></item>
/// <item><description>A hard state that changes only the commit index is not written at all: Raft needs the term and
/// the vote durable, not the commit index (a restarted node recovers the commit index it last wrote with a term or
/// vote change, or its snapshot's index, and learns the rest from the leader; thesis §3.8), and on a busy node nearly
/// every ready is such a change, each of which would cost an fsync beside the log's. The commit index reaches the disk
/// with the next term or vote change.</description></item>
/// <item><description>Only then do <see cref="Ready.PersistedMessages"/> leave (vote grants and append
/// acknowledgements must never promise what a crash could make this node forget, §5.2, §5.3).</description></item>
/// </list>
/// <para>
/// Applying <see cref="Ready.CommittedEntries"/> and calling <see cref="RawNode.Advance(Ready)"/> are the caller's job,
/// after the returned task completes. When the stores complete synchronously the whole call completes synchronously
/// on the caller's thread (no hop to the thread pool), which keeps the simulator deterministic.
/// </para>
/// <para>
/// Failure: if a write fails, the task faults with that failure, no later write of the ready starts, and
/// <see cref="Ready.PersistedMessages"/> are not sent. The caller must then stop the node: the durable
/// state is unknown. Not thread-safe: one ready at a time, as the log store has a single writer.
/// </para>
/// </remarks>
public sealed class ReadyProcessor
{
    private readonly ILogStore _logStore;
    private readonly IHardStateStore _hardStateStore;
    private readonly IRaftTransport _transport;
    private readonly Action<Message>? _sendSnapshot;

    // The hard state this processor last made durable; null until the first save.
    private HardState? _lastSaved;

    /// <summary>Creates a processor writing to the given stores and sending through <paramref name="transport"/>.</summary>
    /// <param name="logStore">Where <see cref="Ready.Entries"/> go.</param>
    /// <param name="hardStateStore">Where <see cref="Ready.HardState"/> goes.</param>
    /// <param name="transport">Where messages go.</param>
    public ReadyProcessor(ILogStore logStore, IHardStateStore hardStateStore, IRaftTransport transport)
        : this(logStore, hardStateStore, transport, sendSnapshot: null)
    {
    }

    /// <summary>
    /// Creates a processor that hands <see cref="MessageType.InstallSnapshot"/> messages to
    /// <paramref name="sendSnapshot"/> instead of <see cref="IRaftTransport.Send"/>: their data travels as a stream beside
    /// the message (<see cref="IRaftTransport.SendSnapshotAsync"/>), which the host starts and reports back to the engine.
    /// </summary>
    /// <param name="logStore">Where <see cref="Ready.Entries"/> go.</param>
    /// <param name="hardStateStore">Where <see cref="Ready.HardState"/> goes.</param>
    /// <param name="transport">Where the other messages go.</param>
    /// <param name="sendSnapshot">Called, on the caller's thread and in message order, for each InstallSnapshot message;
    /// it must not block. When null, InstallSnapshot messages go through <see cref="IRaftTransport.Send"/> like the rest.</param>
    public ReadyProcessor(ILogStore logStore, IHardStateStore hardStateStore, IRaftTransport transport, Action<Message>? sendSnapshot)
    {
        ArgumentNullException.ThrowIfNull(logStore);
        ArgumentNullException.ThrowIfNull(hardStateStore);
        ArgumentNullException.ThrowIfNull(transport);
        _logStore = logStore;
        _hardStateStore = hardStateStore;
        _transport = transport;
        _sendSnapshot = sendSnapshot;
    }

    /// <summary>Sends <see cref="Ready.Messages"/>, makes the ready's entries and hard state durable, then sends <see cref="Ready.PersistedMessages"/>.</summary>
    /// <param name="ready">The ready returned by the engine.</param>
    /// <param name="cancellationToken">Passed to the stores; cancelling leaves the writes' outcome unknown, so the node must stop.</param>
    /// <returns>A task that completes once the writes are durable and every message was handed to the transport.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="ready"/> is null.</exception>
    public ValueTask PersistAndSendAsync(Ready ready, CancellationToken cancellationToken = default) =>
        PersistAndSendAsync(ready, appendScheduler: null, cancellationToken);

    /// <summary>
    /// As <see cref="PersistAndSendAsync(Ready, CancellationToken)"/>, optionally running the log append (and the
    /// <see cref="Ready.PersistedMessages"/> after it) on <paramref name="appendScheduler"/>, so that the call returns
    /// once <see cref="Ready.Messages"/> have left.
    /// </summary>
    /// <param name="ready">The ready returned by the engine.</param>
    /// <param name="appendScheduler">Where a ready's plain append runs, or null for the calling thread. A log store may
    /// make an append durable on the calling thread (the FASTER store does, to spare two thread-pool hops), which would
    /// otherwise hold the caller for the whole fdatasync: a leader that keeps stepping while its writes run
    /// (<see cref="WhilePersisting"/>), and any node whose caller is a thread-pool thread, give their own thread here.
    /// Snapshot installs and term or vote changes run on the calling thread either way.</param>
    /// <param name="cancellationToken">Passed to the stores; cancelling leaves the writes' outcome unknown, so the node must stop.</param>
    /// <returns>A task that completes once the writes are durable and every message was handed to the transport.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="ready"/> is null.</exception>
    public ValueTask PersistAndSendAsync(Ready ready, TaskScheduler? appendScheduler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ready);
        if (ready.Snapshot is not null)
        {
            return InstallSnapshotThenPersistAsync(ready, cancellationToken);
        }

        SendAll(ready.Messages);

        // A hard state that moves only the commit index is not written (see the remarks).
        if (ready.HardState is { } state && ChangesTermOrVote(state))
        {
            return SaveThenAppendThenSendAsync(ready, state, cancellationToken);
        }

        if (ready.Entries.Count == 0)
        {
            SendAll(ready.PersistedMessages);
            return ValueTask.CompletedTask;
        }

        if (appendScheduler is not null)
        {
            return new ValueTask(Task.Factory.StartNew(
                () => AwaitAppendThenSendAsync(StartAppend(ready.Entries, cancellationToken), ready.PersistedMessages).AsTask(),
                CancellationToken.None,
                TaskCreationOptions.DenyChildAttach,
                appendScheduler).Unwrap());
        }

        var append = StartAppend(ready.Entries, cancellationToken);
        if (append.IsCompletedSuccessfully)
        {
            // Synchronous stores (in-memory, simulator): no state machine, no allocation.
            append.GetAwaiter().GetResult();
            SendAll(ready.PersistedMessages);
            return ValueTask.CompletedTask;
        }

        return AwaitAppendThenSendAsync(append, ready.PersistedMessages);
    }

    // A follower installing a snapshot from the leader: the log store is reset first, so that no hard state whose commit
    // points into the snapshot can be durable beside a log that still holds the old, conflicting entries. The snapshot
    // data itself is already durable in the snapshot store (the handler stored it before the engine saw the message);
    // restoring the state machine is the caller's job, before it applies this ready's committed entries. Rare, so the
    // writes simply run one after the other.
    private async ValueTask InstallSnapshotThenPersistAsync(Ready ready, CancellationToken cancellationToken)
    {
        SendAll(ready.Messages);
        await _logStore.ResetAsync(ready.Snapshot!.Index, cancellationToken).ConfigureAwait(false);
        if (ready.HardState is { } state)
        {
            await StartSave(state, cancellationToken).ConfigureAwait(false);
            _lastSaved = state;
        }

        await StartAppend(ready.Entries, cancellationToken).ConfigureAwait(false);
        SendAll(ready.PersistedMessages);
    }

    // True when `state` moves the term or the vote past what this processor last made durable (or nothing is known yet).
    private bool ChangesTermOrVote(HardState state) =>
        _lastSaved is not { } last || last.Term != state.Term || !string.Equals(last.VotedFor, state.VotedFor, StringComparison.Ordinal);

    // A ready that raises the term or casts a vote: the hard state goes first, then the entries (if any). Only
    // elections and new leaders take this path, so the serial wait is rare. With synchronous stores the whole method
    // completes synchronously (every await is already complete).
    private async ValueTask SaveThenAppendThenSendAsync(Ready ready, HardState state, CancellationToken cancellationToken)
    {
        await StartSave(state, cancellationToken).ConfigureAwait(false);
        _lastSaved = state;
        await StartAppend(ready.Entries, cancellationToken).ConfigureAwait(false);
        SendAll(ready.PersistedMessages);
    }

    // A store that throws instead of returning a faulted task still gets the other write awaited before the failure
    // surfaces, so no write of this ready can outlive the call.
    private ValueTask StartAppend(IReadOnlyList<Entry> entries, CancellationToken cancellationToken)
    {
        try
        {
            return entries.Count > 0 ? _logStore.AppendAsync(entries, cancellationToken) : ValueTask.CompletedTask;
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    private ValueTask StartSave(HardState? hardState, CancellationToken cancellationToken)
    {
        try
        {
            return hardState is { } state ? _hardStateStore.SaveAsync(state, cancellationToken) : ValueTask.CompletedTask;
        }
        catch (Exception ex)
        {
            return ValueTask.FromException(ex);
        }
    }

    private async ValueTask AwaitAppendThenSendAsync(ValueTask append, IReadOnlyList<Message> persistedMessages)
    {
        await append.ConfigureAwait(false);
        SendAll(persistedMessages);
    }

    /// <summary>
    /// Sends messages that may leave before any write (<see cref="RawNode.TakeMessages"/>), routed as
    /// <see cref="Ready.Messages"/> are: InstallSnapshot to the snapshot sender when one was given.
    /// </summary>
    /// <param name="messages">The messages, in order.</param>
    public void Send(IReadOnlyList<Message> messages)
    {
        ArgumentNullException.ThrowIfNull(messages);
        SendAll(messages);
    }

    private void SendAll(IReadOnlyList<Message> messages)
    {
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            if (_sendSnapshot is not null && message.Type == MessageType.InstallSnapshot)
            {
                _sendSnapshot(message);
            }
            else
            {
                _transport.Send(message);
            }
        }
    }
}
