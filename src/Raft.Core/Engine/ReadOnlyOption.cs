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
    /// bound allows; needs <see cref="RaftOptions.CheckQuorum"/>. <c>RaftNode</c> counts a leader's ticks by a monotonic
    /// clock as well as by its timer, so that a pause of its process (a GC, a frozen VM), whose timer firings are lost,
    /// cannot lengthen its lease.
    /// </summary>
    LeaseBased,
}
