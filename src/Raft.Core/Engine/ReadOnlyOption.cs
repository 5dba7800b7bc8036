namespace Raft.Core.Engine;

/// <summary>How a leader confirms a read index (thesis §6.4).</summary>
public enum ReadOnlyOption
{
    /// <summary>
    /// ReadIndex: the leader confirms it is still leader with a heartbeat round answered by a majority after the read
    /// arrived. Safe under any clock behaviour; costs one round trip (shared by every read waiting for it).
    /// </summary>
    Safe,

    /// <summary>
    /// Lease reads (thesis §6.4.1): while a majority answered a heartbeat sent less than
    /// ElectionTick − 1 − <see cref="RaftOptions.LeaseClockDriftTicks"/> ticks ago, no other leader can have been
    /// elected, so the leader serves reads without a round trip. Correct only if no node's clock runs faster than that
    /// bound allows; needs <see cref="RaftOptions.CheckQuorum"/>. With leases, <c>RaftNode</c> counts a leader's ticks by
    /// its monotonic clock instead of its timer's firings, so that a pause of its process (a GC, <c>SIGSTOP</c>), whose
    /// firings are lost, cannot lengthen its lease, and a follower's ticks no faster than that clock from its leader's
    /// last message. That clock does not count a suspended host (nor, on some hypervisors, a paused VM): do not use
    /// leases where hosts may be suspended.
    /// </summary>
    LeaseBased,
}
