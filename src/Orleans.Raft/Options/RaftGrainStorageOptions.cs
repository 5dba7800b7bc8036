using Orleans.Raft.Networking;
using Orleans.Storage;
using Raft.Core.Runtime;

namespace Orleans.Configuration;

/// <summary>Configuration of one Raft grain-storage provider (see <c>AddRaftGrainStorage</c>).</summary>
/// <remarks>
/// Every silo of the cluster runs one Raft node per provider, with the same <see cref="Members"/>. The settings that
/// shape the replicated logic (none today beyond the members) must match on every silo; timing settings may differ.
/// </remarks>
public sealed class RaftGrainStorageOptions : IStorageProviderSerializerOptions
{
    /// <summary>Default of <see cref="MaxStateSize"/>: 1 MiB.</summary>
    public const int DefaultMaxStateSize = 1024 * 1024;

    /// <summary>
    /// Where this silo keeps the provider's durable Raft state: the log, hard state and snapshots go to
    /// <c>DataDirectory/&lt;node id&gt;</c>. Required. Use a separate directory for each provider.
    /// </summary>
    public string? DataDirectory { get; set; }

    /// <summary>
    /// The voting members the Raft group was created with: node id (the silo name, see <see cref="NodeId"/>) → network
    /// address of its Raft endpoint (<c>host:port</c> for gRPC). The same list on every silo for the life of the
    /// cluster, a member removed later included (its address may then be anything): it is the group's initial
    /// configuration, which each node records at its first start and refuses to start with another. Silos that join
    /// later go into <see cref="AdditionalMembers"/>.
    /// </summary>
    public IDictionary<string, string> Members { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>
    /// Silos that may join the Raft group at run time (with <c>RaftGrainStorage.AddVoterAsync</c>): node id → address,
    /// like <see cref="Members"/> and disjoint from it. Either the same list on every silo (spare names listed from the
    /// start), or, on a joining silo only, itself and any silo added at run time that it must reach, when it is added
    /// with its address (<c>AddVoterAsync(nodeId, address)</c>: the group records the address, and the other silos need
    /// no restart). Such a silo's start waits until it is added.
    /// </summary>
    public IDictionary<string, string> AdditionalMembers { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Every silo with an address in the options: <see cref="Members"/> and <see cref="AdditionalMembers"/>.</summary>
    internal Dictionary<string, string> AddressBook()
    {
        var book = new Dictionary<string, string>(Members, StringComparer.Ordinal);
        foreach (var (id, address) in AdditionalMembers ?? new Dictionary<string, string>())
        {
            book[id] = address;
        }

        return book;
    }

    /// <summary>
    /// This silo's node id in <see cref="Members"/>; null (the default) uses the silo name, which must then be stable
    /// across restarts (set <c>SiloOptions.SiloName</c>).
    /// </summary>
    public string? NodeId { get; set; }

    /// <summary>Names the Raft group on the network; null (the default) uses the Orleans ServiceId and the provider name.</summary>
    public string? RaftClusterId { get; set; }

    /// <summary>
    /// How the nodes reach each other. Null (the default) uses a <see cref="GrpcRaftStorageNetwork"/>: each silo serves
    /// its node over HTTP/2 at its address in <see cref="Members"/>. Give one shared
    /// <see cref="InMemoryRaftStorageNetwork"/> to silos that run in one process (tests, samples).
    /// </summary>
    public IRaftStorageNetwork? Network { get; set; }

    /// <summary>Largest serialized grain state a write may carry, in bytes; larger writes fail with <c>RaftStateTooLargeException</c>. Defaults to 1 MiB.</summary>
    public int MaxStateSize { get; set; } = DefaultMaxStateSize;

    /// <summary>
    /// How long a read, write or clear may wait for the Raft group (a leader, a quorum, its retries) before it fails.
    /// Defaults to 10 seconds; it must be well above an election timeout (<see cref="TickInterval"/> ×
    /// <see cref="ElectionTick"/> × 2).
    /// </summary>
    public TimeSpan OperationTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// When false (the default, AdoNet's convention) a clear keeps a tombstone: the ETag advances and
    /// <c>RecordExists</c> becomes false. When true a clear deletes the record and the ETag becomes null.
    /// </summary>
    public bool DeleteStateOnClear { get; set; }

    /// <summary>Time between two Raft ticks. Defaults to 50 ms.</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Ticks without a leader before a follower campaigns (the election timeout). Defaults to 10.</summary>
    public int ElectionTick { get; set; } = 10;

    /// <summary>Ticks between a leader's heartbeats. Defaults to 1.</summary>
    public int HeartbeatTick { get; set; } = 1;

    /// <summary>Applied entries after which a node snapshots its store and compacts its log. Defaults to 10,000; 0 disables.</summary>
    public long SnapshotEntryThreshold { get; set; } = 10_000;

    /// <summary>
    /// The time slice this silo's Raft log-write thread asks the scheduler for (<c>RaftNodeOptions.LogWriteThreadSlice</c>),
    /// or null to leave its scheduling alone. Defaults to 100 µs: on Linux 6.12 and later a follower's durable write then
    /// starts as soon as its entries arrive instead of waiting for a core that the silo's grains keep busy (the
    /// <c>orleans</c> benchmark's Raft writes ran 15–25 % faster). No effect elsewhere. Between 100 µs and 100 ms.
    /// </summary>
    public TimeSpan? LogWriteThreadSlice { get; set; } = RaftNodeOptions.MinLogWriteThreadSlice;

    /// <summary>
    /// The silo lifecycle stage at which the Raft node starts (and, in reverse order, stops). Defaults to
    /// <see cref="ServiceLifecycleStage.ApplicationServices"/>, before grains can activate and after they deactivate.
    /// </summary>
    public int InitStage { get; set; } = ServiceLifecycleStage.ApplicationServices;

    /// <summary>
    /// Turns grain state into bytes and back. Filled in from the <c>IGrainStorageSerializer</c> registered for this
    /// provider's name, or else the silo's default one, unless set.
    /// </summary>
    public IGrainStorageSerializer GrainStorageSerializer { get; set; } = null!;
}
