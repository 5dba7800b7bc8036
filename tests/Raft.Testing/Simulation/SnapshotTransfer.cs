using Raft.Core.Messages;

namespace Raft.Testing.Simulation;

/// <summary>One snapshot on its way through the simulated network: the InstallSnapshot message and the data streamed beside it.</summary>
/// <param name="Message">The InstallSnapshot message; its <see cref="Message.Snapshot"/> describes <paramref name="Data"/>.</param>
/// <param name="Data">The snapshot's bytes, read from the sender's store when the transfer started.</param>
/// <param name="SenderIncarnation">The sender's incarnation: a restarted sender is not told how its predecessor's transfer ended.</param>
/// <param name="Completion">Completed when the transfer ends, for callers of <see cref="Raft.Core.Transport.IRaftTransport.SendSnapshotAsync"/>.</param>
internal sealed record SnapshotTransfer(Message Message, byte[] Data, int SenderIncarnation, TaskCompletionSource? Completion)
{
    public override string ToString() => $"{Message.From}->{Message.To} {Message.Index}/{Message.LogTerm} ({Data.Length}B)";
}
