using Raft.Core.Engine;
using Raft.Core.Messages;
using Raft.Core.Storage;

namespace Raft.Core.Runtime;

// Snapshots (§7) on the wire and in the log: the leader streams its newest snapshot to a follower whose next entry was
// compacted away, a follower stores one it receives before the engine sees it, and the loop compacts the log behind
// each snapshot the applier wrote.
public sealed partial class RaftNode
{
    // Loop only: the running transfer to each follower (one at a time; each reports back through the loop). They end
    // on the stopping token; the node does not wait for them, as they only log and report to the loop.
    private readonly Dictionary<string, Task> _snapshotSends = new(StringComparer.Ordinal);

    // Loop only: the newest snapshot the applier wrote that the log was not compacted behind yet.
    private SnapshotMetadata? _pendingCompaction;

    // Loop only: the log store was compacted through this index.
    private long _compactedThrough;

    // Called by the ReadyProcessor on the loop for each InstallSnapshot message, in place of an ordinary send.
    private void StartSnapshotSend(Message message)
    {
        if (_snapshotSends.ContainsKey(message.To))
        {
            // The running transfer reports when it ends, which moves the engine's progress for that follower on;
            // the engine asks again if the follower still needs a snapshot.
            return;
        }

        _snapshotSends[message.To] = Task.Run(() => SendSnapshotAsync(message));
    }

    private async Task SendSnapshotAsync(Message message)
    {
        var token = _stopping.Token;
        var success = false;
        try
        {
            SnapshotReader? reader;
            try
            {
                reader = await _snapshotStore.OpenLatestAsync(token).ConfigureAwait(false);
                if (reader is null || reader.Metadata.Index < message.Snapshot!.Index)
                {
                    throw new InvalidOperationException(
                        $"Raft node '{Id}' must send the snapshot at index {message.Snapshot!.Index} to '{message.To}', but the snapshot store's newest is " +
                        (reader is null ? "missing." : $"at index {reader.Metadata.Index}."));
                }
            }
            catch (Exception ex) when (!token.IsCancellationRequested)
            {
                // A corrupt or lost snapshot is a storage failure: this node can no longer catch followers up.
                Fail(ex, "snapshot store");
                return;
            }

            await using (reader.ConfigureAwait(false))
            {
                // The store may hold a newer snapshot than the engine knows of (one received from an earlier leader while
                // this node caught up by appends); it is a committed prefix too, and the data must match the metadata.
                var outgoing = reader.Metadata == message.Snapshot
                    ? message
                    : message with { Snapshot = reader.Metadata, Index = reader.Metadata.Index, LogTerm = reader.Metadata.Term };
                Log.SnapshotSending(_logger, Id, outgoing.To, outgoing.Index, outgoing.LogTerm);
                await _transport.SendSnapshotAsync(outgoing, reader.Stream, token).ConfigureAwait(false);
                success = true;
                Log.SnapshotSent(_logger, Id, outgoing.To, outgoing.Index);
            }
        }
        catch (Exception ex) when (!token.IsCancellationRequested)
        {
            Log.SnapshotSendFailed(_logger, Id, message.To, ex.Message);
        }
        catch (Exception) when (token.IsCancellationRequested)
        {
            // Stopping.
        }
        finally
        {
            _events.Writer.TryWrite(new LoopEvent(LoopEventKind.SnapshotSent, new SnapshotSendResult(message.To, success)));
        }
    }

    private void OnSnapshotSent(RawNode rawNode, SnapshotSendResult result)
    {
        _snapshotSends.Remove(result.To);
        rawNode.ReportSnapshot(result.To, result.Success);
    }

    // The transport's handler: store the data durably, then let the engine see the message. A broken transfer leaves
    // nothing (the writer is disposed without commit) and fails the sender's call, which reports it to its engine.
    private async Task ReceiveSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(data);
        var snapshot = message.Snapshot
            ?? throw new InvalidDataException($"Raft node '{Id}' received an InstallSnapshot message from '{message.From}' without snapshot metadata.");
        if (Volatile.Read(ref _state) != Running || _stopping.IsCancellationRequested)
        {
            throw RaftNodeStoppedException.For(Id, _failure);
        }

        // The engine acts only on a snapshot from a leader of its current term or later that reaches past its commit
        // index (older ones it answers without installing, §7). Such a snapshot is not stored either: it would only
        // replace a newer or equal one in the store. The status read here may be a moment old; terms and commit indexes
        // only grow, so what it rules out the engine would rule out too, and what slips through is still a committed
        // prefix the applier knows how to skip.
        var status = Status;
        if (message.Term < status.Term || snapshot.Index <= status.CommitIndex)
        {
            Log.SnapshotIgnored(_logger, Id, message.From, snapshot.Index, message.Term, status.Term, status.CommitIndex);
            if (!_events.Writer.TryWrite(new LoopEvent(LoopEventKind.Message, message)))
            {
                throw RaftNodeStoppedException.For(Id, _failure);
            }

            return;
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        try
        {
            var writer = await _snapshotStore.CreateAsync(snapshot, linked.Token).ConfigureAwait(false);
            await using (writer.ConfigureAwait(false))
            {
                await data.CopyToAsync(writer.Stream, linked.Token).ConfigureAwait(false);
                await writer.CommitAsync(linked.Token).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            Log.SnapshotReceiveFailed(_logger, Id, message.From, snapshot.Index, ex.Message);
            throw;
        }

        Log.SnapshotReceived(_logger, Id, message.From, snapshot.Index, snapshot.Term);
        if (!_events.Writer.TryWrite(new LoopEvent(LoopEventKind.Message, message)))
        {
            throw RaftNodeStoppedException.For(Id, _failure);
        }
    }

    // Loop only: the engine forgets the entries the snapshot covers (keeping SnapshotTrailingEntries for followers that
    // lag a little), then the log store drops them.
    private async ValueTask CompactLogAsync(RawNode rawNode, SnapshotMetadata snapshot, CancellationToken cancellationToken)
    {
        var through = rawNode.Compact(snapshot);
        if (through <= _compactedThrough)
        {
            return;
        }

        await _logStore.CompactAsync(through, cancellationToken).ConfigureAwait(false);
        _compactedThrough = through;
        Log.LogCompacted(_logger, Id, through, snapshot.Index);
    }

    private sealed record SnapshotSendResult(string To, bool Success);
}
