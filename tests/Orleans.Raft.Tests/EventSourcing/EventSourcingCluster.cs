namespace Orleans.Raft.Tests.EventSourcing;

// A 3-silo cluster with the Raft grain storage and the Raft log-consistency provider on it.
public static class EventSourcingCluster
{
    public const string ProviderName = "raft-es";
}
