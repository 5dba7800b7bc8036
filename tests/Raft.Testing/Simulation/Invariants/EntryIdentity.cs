using Raft.Core.Messages;

namespace Raft.Testing.Simulation.Invariants;

/// <summary>Compares log entries by content: index, term, type and the bytes of the data.</summary>
/// <remarks><see cref="Entry"/>'s record equality compares <see cref="ReadOnlyMemory{T}"/> by reference, not by bytes.</remarks>
public static class EntryIdentity
{
    /// <summary>True when both entries are the same log entry.</summary>
    /// <param name="a">An entry.</param>
    /// <param name="b">Another entry.</param>
    /// <returns>Whether they match in index, term, type and data.</returns>
    public static bool Same(Entry a, Entry b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return ReferenceEquals(a, b) ||
            (a.Index == b.Index && a.Term == b.Term && a.Type == b.Type && a.Data.Span.SequenceEqual(b.Data.Span));
    }
}
