using Raft.Core.Membership;

namespace Raft.Core.Messages;

/// <summary>What a snapshot covers: the log up to (<paramref name="Index"/>, <paramref name="Term"/>) and the configuration in force there.</summary>
/// <param name="Index">The last log index the snapshot includes.</param>
/// <param name="Term">The term of the entry at <paramref name="Index"/>.</param>
/// <param name="Configuration">The cluster configuration as of <paramref name="Index"/> (thesis §5.1: snapshots carry it).</param>
public sealed record SnapshotMetadata(long Index, long Term, ClusterConfiguration Configuration);
