using Raft.Core.Messages;

namespace Raft.Core.Storage;

/// <summary>Reads the durable Raft log.</summary>
/// <remarks>
/// Contract: the log is contiguous: every index in [<see cref="FirstIndex"/>, <see cref="LastIndex"/>] holds exactly
/// one entry, entry i has <c>Index == i</c>, and terms never decrease along the log. Only entries whose append has
/// completed are visible. Reads may run concurrently with one writer.
/// </remarks>
public interface ILogReader
{
    /// <summary>The first index held; 1 for a log that was never compacted.</summary>
    long FirstIndex { get; }

    /// <summary>The last index held; <c>FirstIndex - 1</c> when the log is empty.</summary>
    long LastIndex { get; }

    /// <summary>Reads the entries with indexes in [<paramref name="fromIndex"/>, <paramref name="toIndexInclusive"/>], in order.</summary>
    /// <param name="fromIndex">The first index to read; at least <see cref="FirstIndex"/>.</param>
    /// <param name="toIndexInclusive">The last index to read; at most <see cref="LastIndex"/>.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <returns>The entries, exactly one per index.</returns>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the log.</exception>
    ValueTask<IReadOnlyList<Entry>> ReadAsync(long fromIndex, long toIndexInclusive, CancellationToken cancellationToken = default);
}
