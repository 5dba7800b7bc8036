namespace Raft.Testing.Simulation.Invariants;

/// <summary>What one node keeps on disk, as far as the durability of committed entries is concerned.</summary>
public interface IDurableReplica
{
    /// <summary>The node's id.</summary>
    string NodeId { get; }

    /// <summary>Its durable log.</summary>
    ILogView Log { get; }

    /// <summary>The index its newest durable snapshot covers (0 when it has none): every entry up to it survives in that snapshot.</summary>
    long SnapshotIndex { get; }
}

/// <summary>A fixed <see cref="IDurableReplica"/>, for tests.</summary>
/// <param name="NodeId">The node's id.</param>
/// <param name="Log">Its durable log.</param>
/// <param name="SnapshotIndex">What its snapshot covers.</param>
public sealed record DurableReplica(string NodeId, ILogView Log, long SnapshotIndex = 0) : IDurableReplica;
