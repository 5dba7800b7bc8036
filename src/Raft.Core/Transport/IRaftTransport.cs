using Raft.Core.Messages;

namespace Raft.Core.Transport;

/// <summary>Carries one-way Raft messages between nodes.</summary>
/// <remarks>
/// Contract (checked by the transport conformance suite in Raft.Testing):
/// <list type="bullet">
/// <item><description>Best effort: a message may be lost, delayed or duplicated; Raft tolerates all three. Messages
/// to one peer should arrive in the order sent, which keeps pipelining efficient, but safety never depends on it.</description></item>
/// <item><description>Never blocks: <see cref="Send"/> queues and returns; a slow or dead peer never stalls the caller
/// or the other peers (bounded per-peer queues; drop and report when full).</description></item>
/// <item><description>Delivers each message for this node to the handler given to <see cref="Start"/>.</description></item>
/// </list>
/// </remarks>
public interface IRaftTransport : IAsyncDisposable
{
    /// <summary>Starts delivering incoming messages to <paramref name="handler"/>; called once, before any <see cref="Send"/>.</summary>
    /// <param name="handler">The receiver of this node's messages.</param>
    void Start(IRaftMessageHandler handler);

    /// <summary>Queues <paramref name="message"/> for <see cref="Message.To"/>; never blocks.</summary>
    /// <param name="message">The message to send.</param>
    void Send(Message message);

    /// <summary>
    /// Streams a snapshot to <see cref="Message.To"/>: the <see cref="MessageType.InstallSnapshot"/>
    /// <paramref name="message"/> and the data read from <paramref name="data"/> in chunks, so the total size need not be
    /// known up front. Runs beside <see cref="Send"/> traffic and never blocks it.
    /// </summary>
    /// <param name="message">The InstallSnapshot message, with its <see cref="Message.Snapshot"/> metadata.</param>
    /// <param name="data">The snapshot data, read to its end.</param>
    /// <param name="cancellationToken">Aborts the transfer.</param>
    /// <returns>A task that completes when the receiver has stored the whole snapshot.</returns>
    /// <exception cref="Exception">The transfer failed or was refused; the sender may retry from the start.</exception>
    Task SendSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default);
}
