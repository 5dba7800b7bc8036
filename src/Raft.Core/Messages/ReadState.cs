namespace Raft.Core.Messages;

/// <summary>
/// A confirmed read index (thesis §6.4): once this node has applied up to <paramref name="Index"/>, a read of its
/// state machine is linearizable for the request identified by <paramref name="Context"/>.
/// </summary>
/// <param name="Index">The commit index the leader confirmed while it was still leader.</param>
/// <param name="Context">The bytes given to <see cref="Engine.RawNode.ReadIndex"/>, identifying the request.</param>
public sealed record ReadState(long Index, ReadOnlyMemory<byte> Context);
