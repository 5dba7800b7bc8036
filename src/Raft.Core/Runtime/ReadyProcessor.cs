using System.Runtime.ExceptionServices;
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
/// <item><description><see cref="Ready.Messages"/> leave at once: they are the leader's own appends, which may go out
/// in parallel with its local write because the leader counts its own copy only after it is durable (thesis §10.2.1).</description></item>
/// <item><description><see cref="Ready.Entries"/> are appended and <see cref="Ready.HardState"/> is saved, concurrently,
/// and both are awaited until durable. One exception keeps the two stores crash-consistent: when the hard state
/// changes the term or the vote and the ready also has entries (a node meeting a new leader), the hard state is made
/// durable first and the entries appended after, so a crash can never leave the log holding a term later than the
/// durable hard state.</description></item>
/// <item><description>Only then do <see cref="Ready.PersistedMessages"/> leave (vote grants and append
/// acknowledgements must never promise what a crash could make this node forget, §5.2, §5.3).</description></item>
/// </list>
/// <para>
/// Applying <see cref="Ready.CommittedEntries"/> and calling <see cref="RawNode.Advance(Ready)"/> are the caller's job,
/// after the returned task completes. When the stores complete synchronously the whole call completes synchronously
/// on the caller's thread (no hop to the thread pool), which keeps the simulator deterministic.
/// </para>
/// <para>
/// Failure: if a write fails, the task faults with that failure (the first, when both fail), after both writes
/// finished, and <see cref="Ready.PersistedMessages"/> are not sent. The caller must then stop the node: the durable
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
    public ValueTask PersistAndSendAsync(Ready ready, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ready);
        if (ready.Snapshot is not null)
        {
            return InstallSnapshotThenPersistAsync(ready, cancellationToken);
        }

        SendAll(ready.Messages);

        if (ready.HasNothingToPersist)
        {
            SendAll(ready.PersistedMessages);
            return ValueTask.CompletedTask;
        }

        if (ready.HardState is { } raised && ready.Entries.Count > 0 && ChangesTermOrVote(raised))
        {
            return SaveThenAppendThenSendAsync(ready, raised, cancellationToken);
        }

        // Both writes start before either is awaited, so a durable store can overlap the two fsyncs.
        var append = StartAppend(ready.Entries, cancellationToken);
        var save = StartSave(ready.HardState, cancellationToken);

        if (append.IsCompletedSuccessfully && save.IsCompletedSuccessfully)
        {
            // Synchronous stores (in-memory, simulator): no state machine, no allocation.
            append.GetAwaiter().GetResult();
            save.GetAwaiter().GetResult();
            _lastSaved = ready.HardState ?? _lastSaved;
            SendAll(ready.PersistedMessages);
            return ValueTask.CompletedTask;
        }

        return AwaitWritesThenSendAsync(append, save, ready.HardState, ready.PersistedMessages);
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

    // A ready that raises the term (or casts a vote) and appends entries of that term: the hard state goes first.
    // Were both to run concurrently, a crash could keep the entries but lose the term, and the recovered log would
    // hold a term later than the recovered hard state. Only elections take this path, so the extra wait is rare;
    // commit-only hard states (every ready of a busy leader) still overlap with the append.
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

    private async ValueTask AwaitWritesThenSendAsync(ValueTask append, ValueTask save, HardState? saved, IReadOnlyList<Message> persistedMessages)
    {
        Exception? failure = null;
        try
        {
            await append.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        // Awaited even when the append failed: a ValueTask must be consumed, and the caller must not start the next
        // ready while a write of this one is still running.
        try
        {
            await save.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            failure ??= ex;
        }

        if (failure is not null)
        {
            ExceptionDispatchInfo.Throw(failure);
        }

        _lastSaved = saved ?? _lastSaved;
        SendAll(persistedMessages);
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
