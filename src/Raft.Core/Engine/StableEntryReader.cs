using Raft.Core.Messages;

namespace Raft.Core.Engine;

/// <summary>
/// Reads entries back from the durable log store, synchronously: the engine calls it for entries it no longer keeps in
/// memory (see <see cref="RaftOptions.RetainedLogEntries"/>), when a follower is further behind than that window.
/// </summary>
/// <param name="fromIndex">The first index to read; the engine only asks for entries it knows are durable.</param>
/// <param name="toIndexInclusive">The last index to read.</param>
/// <returns>The entries, exactly one per index, in order.</returns>
/// <remarks>
/// The engine asks only for entries it was told are durable (<see cref="RawNode.Advance"/>) and not compacted, so a
/// store that honours its contract always has them. A store that cannot read them (corruption, I/O) throws, and the
/// exception leaves the engine through the call that needed the entries.
/// </remarks>
public delegate IReadOnlyList<Entry> StableEntryReader(long fromIndex, long toIndexInclusive);
