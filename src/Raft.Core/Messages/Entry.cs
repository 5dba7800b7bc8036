namespace Raft.Core.Messages;

/// <summary>One entry of the replicated log.</summary>
/// <remarks>
/// Entries are immutable once created: the engine, the stores and the transport share the same instance
/// and the same <see cref="Data"/> buffer, so nobody may write into <see cref="Data"/> after proposing it.
/// </remarks>
/// <param name="Index">Position in the log, starting at 1.</param>
/// <param name="Term">The leader's term when the entry was created.</param>
/// <param name="Type">What the entry carries.</param>
/// <param name="Data">The payload (a command for <see cref="EntryType.Normal"/>).</param>
public sealed record Entry(long Index, long Term, EntryType Type, ReadOnlyMemory<byte> Data)
{
    /// <summary>Bytes this entry counts for in flow control and size limits.</summary>
    public long Size => Data.Length + 24;

    /// <inheritdoc />
    public override string ToString() => $"{Term}/{Index} {Type}{(Data.IsEmpty ? "" : $" {Data.Length}B")}";
}
