namespace Raft.Transport.Grpc.Client;

/// <summary>A command or read that the cluster executed.</summary>
/// <param name="Index">The log index the command was applied at (for a read through the log, the read's own index).</param>
/// <param name="Result">What the state machine returned.</param>
/// <param name="ServedBy">The node that executed it (the leader, for commands).</param>
public sealed record RaftCommandResult(long Index, ReadOnlyMemory<byte> Result, string ServedBy);
