namespace Raft.Testing.Simulation;

/// <summary>What becomes of one durable write in the simulation.</summary>
internal enum WriteFate
{
    /// <summary>The write becomes durable and the node goes on.</summary>
    Land,

    /// <summary>The node crashes before the write reaches the disk: nothing of it survives.</summary>
    CrashBefore,

    /// <summary>The write becomes durable, then the node crashes before it learns so.</summary>
    CrashAfter,
}
