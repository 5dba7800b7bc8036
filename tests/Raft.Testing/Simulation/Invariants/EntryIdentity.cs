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

    /// <summary>The entry at <paramref name="index"/> of a log kept from index 1, or null when the log is shorter.</summary>
    /// <param name="log">The log; entry i at position i - 1.</param>
    /// <param name="index">The log index.</param>
    /// <returns>The entry, or null.</returns>
    public static Entry? At(IReadOnlyList<Entry> log, long index)
    {
        ArgumentNullException.ThrowIfNull(log);
        return index >= 1 && index <= log.Count ? log[(int)(index - 1)] : null;
    }
}
