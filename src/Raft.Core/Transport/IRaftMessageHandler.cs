using Raft.Core.Messages;

namespace Raft.Core.Transport;

/// <summary>Receives what a transport delivers to one node.</summary>
/// <remarks>Implementations must not block: they queue the message for the consensus loop and return.</remarks>
public interface IRaftMessageHandler
{
    /// <summary>A message for this node arrived.</summary>
    /// <param name="message">The message; its <see cref="Message.To"/> is this node.</param>
    void Receive(Message message);

    /// <summary>A message to <paramref name="nodeId"/> could not be delivered; the leader will probe that peer again.</summary>
    /// <param name="nodeId">The unreachable peer.</param>
    void ReportUnreachable(string nodeId);

    /// <summary>
    /// A snapshot is arriving: store <paramref name="data"/> durably (it is read to its end), then hand
    /// <paramref name="message"/> to the consensus loop. A transfer that breaks leaves nothing behind.
    /// </summary>
    /// <param name="message">The InstallSnapshot message, with its <see cref="Message.Snapshot"/> metadata.</param>
    /// <param name="data">The snapshot data as it arrives.</param>
    /// <param name="cancellationToken">Aborts the transfer.</param>
    /// <returns>A task that completes once the snapshot is stored and queued for the engine.</returns>
    Task ReceiveSnapshotAsync(Message message, Stream data, CancellationToken cancellationToken = default);
}
