using Orleans.Raft.Networking;
using Orleans.Raft.Storage;
using Orleans.Runtime;
using Raft.Core.Runtime;

namespace Orleans.Configuration;

/// <summary>Checks a <see cref="RaftGrainStorageOptions"/> when the silo starts; each message says what to fix.</summary>
/// <param name="options">The provider's options.</param>
/// <param name="name">The provider's name.</param>
/// <param name="siloName">This silo's name, the default node id.</param>
public sealed class RaftGrainStorageOptionsValidator(RaftGrainStorageOptions options, string name, string siloName) : IConfigurationValidator
{
    /// <summary>
    /// The largest <see cref="RaftGrainStorageOptions.MaxStateSize"/> allowed: the largest entry the durable Raft log
    /// stores (its 4 MiB page less 36 bytes of headers) less 65 KiB of room for the command's header. A larger entry
    /// would be refused by every node's log and stop the whole Raft group.
    /// </summary>
    public const int MaxStateSizeLimit = (4 * 1024 * 1024) - (65 * 1024);

    /// <inheritdoc />
    /// <exception cref="OrleansConfigurationException">A setting is missing or wrong; the message says which and how to fix it.</exception>
    public void ValidateConfiguration()
    {
        ArgumentNullException.ThrowIfNull(options);
        var prefix = $"Raft grain storage '{name}':";
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            throw new OrleansConfigurationException(
                $"{prefix} DataDirectory is not set. Set it to a directory on durable disk; this silo keeps its Raft log in DataDirectory/<node id>, and each provider needs its own directory.");
        }

        if (options.Members is null || options.Members.Count == 0)
        {
            throw new OrleansConfigurationException(
                $"{prefix} Members is empty. List every voting silo as node id (its silo name) → Raft endpoint address (host:port), the same list on every silo.");
        }

        foreach (var (id, address) in options.Members)
        {
            CheckMember(prefix, nameof(options.Members), id, address);
        }

        foreach (var (id, address) in options.AdditionalMembers ?? new Dictionary<string, string>())
        {
            CheckMember(prefix, nameof(options.AdditionalMembers), id, address);
            if (options.Members.ContainsKey(id))
            {
                throw new OrleansConfigurationException(
                    $"{prefix} '{id}' is in both Members and AdditionalMembers. Members are the voters the Raft group was created with; AdditionalMembers only silos that join it later.");
            }
        }

        var nodeId = options.NodeId ?? siloName;
        if (string.IsNullOrWhiteSpace(nodeId) || !options.AddressBook().ContainsKey(nodeId))
        {
            throw new OrleansConfigurationException(
                $"{prefix} this silo's node id '{nodeId}' ({(options.NodeId is null ? "its silo name" : "NodeId")}) is in neither Members [{string.Join(", ", options.Members.Keys)}] nor AdditionalMembers [{string.Join(", ", options.AdditionalMembers?.Keys ?? [])}]. If it joins a running group, add it with its address to AdditionalMembers (on this silo alone when it is added with AddVoterAsync(nodeId, address), else on every silo); if the group is new, to Members; or set NodeId (or SiloOptions.SiloName) to one of them.");
        }

        // Checked here as well as at start, so that a silo given other initial voters than its log was created with
        // fails before it starts anything.
        InitialVotersRecord.Verify(Path.Combine(options.DataDirectory, nodeId), [.. options.Members.Keys], name);

        if (options.MaxStateSize < 1 || options.MaxStateSize > MaxStateSizeLimit)
        {
            throw new OrleansConfigurationException(
                $"{prefix} MaxStateSize is {options.MaxStateSize}; it must be between 1 and {MaxStateSizeLimit} bytes (the durable Raft log stores entries of at most 4 MiB).");
        }

        if (options.TickInterval <= TimeSpan.Zero)
        {
            throw new OrleansConfigurationException($"{prefix} TickInterval is {options.TickInterval}; it must be positive (10–100 ms is typical).");
        }

        if (options.HeartbeatTick < 1 || options.ElectionTick <= options.HeartbeatTick)
        {
            throw new OrleansConfigurationException(
                $"{prefix} ElectionTick ({options.ElectionTick}) must be greater than HeartbeatTick ({options.HeartbeatTick}), and HeartbeatTick at least 1; 10 and 1 are typical.");
        }

        var electionTimeout = options.TickInterval * options.ElectionTick;
        if (options.OperationTimeout < electionTimeout * 2)
        {
            throw new OrleansConfigurationException(
                $"{prefix} OperationTimeout ({options.OperationTimeout}) must be at least two election timeouts ({electionTimeout * 2} = 2 × TickInterval × ElectionTick), or operations would fail during every election. Raise it, or lower TickInterval or ElectionTick.");
        }

        if (options.SnapshotEntryThreshold < 0)
        {
            throw new OrleansConfigurationException($"{prefix} SnapshotEntryThreshold is {options.SnapshotEntryThreshold}; use 0 to disable snapshots or a positive count.");
        }

        if (options.LogWriteThreadSlice is { } slice && (slice < RaftNodeOptions.MinLogWriteThreadSlice || slice > RaftNodeOptions.MaxLogWriteThreadSlice))
        {
            throw new OrleansConfigurationException(
                $"{prefix} LogWriteThreadSlice is {slice.TotalMicroseconds} µs; it must be between {RaftNodeOptions.MinLogWriteThreadSlice.TotalMicroseconds} µs and {RaftNodeOptions.MaxLogWriteThreadSlice.TotalMilliseconds} ms (the kernel's range), or null to leave the thread's scheduling alone.");
        }

        if (options.GrainStorageSerializer is null)
        {
            throw new OrleansConfigurationException(
                $"{prefix} no grain storage serializer. Register an IGrainStorageSerializer (the silo's default is added by Orleans) or set GrainStorageSerializer.");
        }
    }

    private void CheckMember(string prefix, string list, string id, string address)
    {
        if (string.IsNullOrWhiteSpace(id))
        {
            throw new OrleansConfigurationException($"{prefix} {list} contains an empty node id. Use each silo's name (SiloOptions.SiloName).");
        }

        if (string.IsNullOrWhiteSpace(address))
        {
            throw new OrleansConfigurationException(
                $"{prefix} {list}['{id}'] has no address. Give the host:port of that silo's Raft endpoint.");
        }

        if (options.Network is null && !GrpcRaftStorageNetwork.TryParse(address, out _, out _))
        {
            throw new OrleansConfigurationException(
                $"{prefix} {list}['{id}'] = '{address}' is not a gRPC address. Use host:port (for example 10.0.0.2:7001) or an http(s):// URI with a port.");
        }
    }
}
