using Raft.Core.Messages;

namespace Raft.Testing.Simulation;

/// <summary>Something scheduled to happen at a virtual time; its text is what a failure trace shows.</summary>
internal abstract record SimEvent;

/// <summary>A node's clock ticks; ignored when the node has restarted since (another incarnation ticks now).</summary>
internal sealed record TickEvent(int Node, int Incarnation) : SimEvent
{
    public override string ToString() => $"n{Node + 1} tick";
}

/// <summary>A message arrives at its destination.</summary>
internal sealed record DeliverEvent(Message Message) : SimEvent
{
    public override string ToString() => $"deliver {Message}";
}

/// <summary>The transport tells a node that a peer could not be reached.</summary>
internal sealed record UnreachableEvent(int Node, int Incarnation, string Peer) : SimEvent
{
    public override string ToString() => $"n{Node + 1} told {Peer} is unreachable";
}

/// <summary>A snapshot stream reaches its destination: the data is stored, then the InstallSnapshot message is stepped.</summary>
internal sealed record SnapshotDeliverEvent(SnapshotTransfer Transfer) : SimEvent
{
    public override string ToString() => $"deliver snapshot {Transfer}";
}

/// <summary>The sender's transport learns how a snapshot transfer ended and tells its engine (RawNode.ReportSnapshot).</summary>
internal sealed record SnapshotReportEvent(SnapshotTransfer Transfer, bool Success) : SimEvent
{
    public override string ToString() => $"{Transfer.Message.From} told snapshot to {Transfer.Message.To} {(Success ? "arrived" : "failed")}";
}

/// <summary>A leader's append in flight reaches the disk; ignored when the node has restarted since.</summary>
internal sealed record DiskWriteEvent(int Node, int Incarnation) : SimEvent
{
    public override string ToString() => $"n{Node + 1}'s append in flight reaches the disk";
}

/// <summary>A crashed node comes back from its durable state.</summary>
internal sealed record RestartEvent(int Node) : SimEvent
{
    public override string ToString() => $"n{Node + 1} restart";
}

/// <summary>A node removed from the configuration is shut down for good.</summary>
internal sealed record RetireEvent(int Node) : SimEvent
{
    public override string ToString() => $"n{Node + 1} retires (removed from the configuration)";
}

/// <summary>The fault schedule's next step: a new partition, a heal, or a crash.</summary>
internal sealed record FaultEvent(FaultKind Kind) : SimEvent
{
    public override string ToString() => $"fault {Kind}";
}

/// <summary>The kinds of scheduled faults.</summary>
internal enum FaultKind
{
    StartPartition,
    HealPartition,
    Crash,
    Campaign,
    Transfer,
    Membership,
}

/// <summary>A client sends its next operation.</summary>
internal sealed record ClientStartEvent(int Client) : SimEvent
{
    public override string ToString() => $"client {Client} starts an operation";
}

/// <summary>A client stops waiting for an operation.</summary>
internal sealed record ClientTimeoutEvent(int Client, long OperationId) : SimEvent
{
    public override string ToString() => $"client {Client} times out on op {OperationId}";
}

/// <summary>Faults stop; the liveness phase starts.</summary>
internal sealed record LivenessPhaseEvent : SimEvent
{
    public override string ToString() => "faults stop: heal the network, restart crashed nodes (liveness phase)";
}
