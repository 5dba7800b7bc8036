namespace Raft.Transport.Grpc;

/// <summary>Answers read-only queries from this node's state machine, so that the client service can serve linearizable reads without going through the log.</summary>
/// <remarks>
/// With a query handler, a read waits for <c>RaftNode.WaitForLinearizableReadAsync</c> (a read index confirmed by
/// the leader, thesis §6.4, then applied here) and is then answered by <see cref="QueryAsync"/> on the node that
/// received it, follower or leader. Without one, a read is proposed through the log like a command and answered by
/// the state machine in log order.
/// Contract: <see cref="QueryAsync"/> runs concurrently with the state machine's applies, so the state it reads must be
/// safe to read while entries are applied (a lock, an immutable snapshot, or a concurrent collection); it must not
/// change the state.
/// </remarks>
public interface IRaftQueryHandler
{
    /// <summary>Answers <paramref name="query"/> from the current state, which includes every entry up to the read index.</summary>
    /// <param name="query">The query, in the application's own format.</param>
    /// <param name="cancellationToken">Abandons the query.</param>
    /// <returns>The answer, returned to the client as is.</returns>
    ValueTask<ReadOnlyMemory<byte>> QueryAsync(ReadOnlyMemory<byte> query, CancellationToken cancellationToken = default);
}
