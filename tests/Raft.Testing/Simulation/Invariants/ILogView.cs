using Raft.Core.Messages;

namespace Raft.Testing.Simulation.Invariants;

/// <summary>A read-only view of one node's durable log, which may start after a snapshot (§7).</summary>
/// <remarks>
/// The log holds the entries (<see cref="BaseIndex"/>, <see cref="LastIndex"/>]; everything up to
/// <see cref="BaseIndex"/> was compacted into a snapshot, or replaced by one the leader sent. The entry at
/// <see cref="BaseIndex"/> itself is known only by its term, which is what Log Matching needs of the first entry after it.
/// </remarks>
public interface ILogView
{
    /// <summary>The index the log starts after: 0 for a full log, else the last index a snapshot covers.</summary>
    long BaseIndex { get; }

    /// <summary>The term of the entry at <see cref="BaseIndex"/> (0 when the base is 0).</summary>
    long BaseTerm { get; }

    /// <summary>The last index in the log; <see cref="BaseIndex"/> when it holds no entry.</summary>
    long LastIndex { get; }

    /// <summary>The entry at <paramref name="index"/>, or null when the log does not hold it (compacted or past the end).</summary>
    /// <param name="index">The log index.</param>
    /// <returns>The entry, or null.</returns>
    Entry? At(long index);
}

/// <summary>Helpers over <see cref="ILogView"/>.</summary>
public static class LogViews
{
    /// <summary>The term at <paramref name="index"/>: the base term at the base, the entry's term inside the log, else -1.</summary>
    /// <param name="log">The log.</param>
    /// <param name="index">The log index.</param>
    /// <returns>The term, or -1 when the log does not know it.</returns>
    public static long TermAt(this ILogView log, long index)
    {
        ArgumentNullException.ThrowIfNull(log);
        return index == log.BaseIndex ? log.BaseTerm : log.At(index)?.Term ?? -1;
    }

    /// <summary>A live view of <paramref name="entries"/>, whose first element has index <paramref name="baseIndex"/> + 1.</summary>
    /// <param name="entries">The entries; the view follows later changes to the list.</param>
    /// <param name="baseIndex">The index the list starts after.</param>
    /// <param name="baseTerm">The term at <paramref name="baseIndex"/>.</param>
    /// <returns>The view.</returns>
    public static ILogView Of(IReadOnlyList<Entry> entries, long baseIndex = 0, long baseTerm = 0) => new ListView(entries, baseIndex, baseTerm);

    private sealed class ListView(IReadOnlyList<Entry> entries, long baseIndex, long baseTerm) : ILogView
    {
        public long BaseIndex => baseIndex;

        public long BaseTerm => baseTerm;

        public long LastIndex => baseIndex + entries.Count;

        public Entry? At(long index) => index > baseIndex && index <= LastIndex ? entries[(int)(index - baseIndex - 1)] : null;
    }
}
