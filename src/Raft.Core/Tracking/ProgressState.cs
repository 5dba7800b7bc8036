namespace Raft.Core.Tracking;

/// <summary>How a leader is replicating to one follower (etcd's progress states).</summary>
public enum ProgressState
{
    /// <summary>The follower's match is unknown: send one append at a time and wait for the answer.</summary>
    Probe,

    /// <summary>The follower is in sync: stream appends optimistically, bounded by the in-flight window.</summary>
    Replicate,

    /// <summary>Reserved: the follower needs a snapshot because its next entry was compacted.</summary>
    Snapshot,
}
