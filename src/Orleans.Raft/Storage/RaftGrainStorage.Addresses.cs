using System.Collections.Concurrent;
using Orleans.Raft.Networking;
using Orleans.Raft.StateMachine;
using Raft.Core.Runtime;

namespace Orleans.Raft.Storage;

// Member addresses recorded by the group (README, "Adding, removing and replacing silos"): a silo added with its
// address needs no entry in the other silos' options. The leader's silo records the address with a committed entry
// before it adds the node; every silo learns it when it applies that entry (or a snapshot), passes it to its network,
// and keeps a copy beside its log (MemberAddressesRecord) for its next start.
public sealed partial class RaftGrainStorage
{
    // Node id → address: the options' Members and AdditionalMembers, overridden by the addresses the group recorded
    // (except this silo's own, which its options give). The network reads it live (RaftStorageEndpoint.Members). Null
    // before the first start.
    private ConcurrentDictionary<string, string>? _addresses;

    // The addresses the group recorded, as far as this silo knows them (its record file, then what it applies); only
    // ever grows or changes an address, since the group never forgets one. Guarded by itself.
    private readonly Dictionary<string, string> _recordedAddresses = new(StringComparer.Ordinal);

    private string? _nodeDirectory;

    /// <summary>
    /// Every silo this one can reach, node id → address: the options' <c>Members</c> and <c>AdditionalMembers</c>, and
    /// the addresses the group recorded when silos were added with one (which take precedence).
    /// </summary>
    public IReadOnlyDictionary<string, string> MemberAddresses => (IReadOnlyDictionary<string, string>?)_addresses ?? _options.AddressBook();

    private ConcurrentDictionary<string, string> OpenAddressBook(string directory)
    {
        _nodeDirectory = directory;
        var recorded = MemberAddressesRecord.Load(directory, out var problem);
        if (problem is not null)
        {
            Log.MemberAddressesRecordUnreadable(_logger, _name, NodeId, problem);
        }

        var book = new ConcurrentDictionary<string, string>(_options.AddressBook(), StringComparer.Ordinal);
        lock (_recordedAddresses)
        {
            foreach (var (id, address) in recorded)
            {
                _recordedAddresses[id] = address;
                if (id != NodeId)
                {
                    book[id] = address;
                }
            }
        }

        return book;
    }

    // On the applier, after an entry or a snapshot changed the recorded addresses.
    private void OnMemberAddressesChanged(IReadOnlyDictionary<string, string> recorded)
    {
        if (_addresses is not { } book || _nodeDirectory is not { } directory)
        {
            return;
        }

        Dictionary<string, string>? toSave = null;
        lock (_recordedAddresses)
        {
            foreach (var (id, address) in recorded)
            {
                if (_recordedAddresses.TryGetValue(id, out var known) && known == address)
                {
                    continue;
                }

                _recordedAddresses[id] = address;
                toSave = new Dictionary<string, string>(_recordedAddresses, StringComparer.Ordinal);

                // This silo listens where its own options say, whatever the others were told.
                if (id == NodeId || book.TryGetValue(id, out var current) && current == address)
                {
                    continue;
                }

                book[id] = address;
                Log.MemberAddressSet(_logger, _name, NodeId, id, address);
                try
                {
                    _connection?.SetPeerAddress(id, address);
                }
                catch (ArgumentException ex)
                {
                    Log.MemberAddressUnusable(_logger, ex, _name, NodeId, id, address);
                }
            }
        }

        if (toSave is null)
        {
            return;
        }

        try
        {
            MemberAddressesRecord.Save(directory, toSave);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Only the head start of the next start is lost (MemberAddressesRecord).
            Log.MemberAddressesNotRecorded(_logger, ex, _name, NodeId, Path.Combine(directory, MemberAddressesRecord.FileName));
        }
    }

    // What AddVoterAsync accepts as a joining silo's address: what the network can use.
    private void CheckAddress(string nodeId, string address)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        if (_options.Network is null or GrpcRaftStorageNetwork)
        {
            if (!nodeId.All(c => c is > ' ' and < (char)127))
            {
                throw new ArgumentException($"Raft grain storage '{_name}': the node id '{nodeId}' must be printable ASCII without spaces (it travels as a gRPC header).", nameof(nodeId));
            }

            if (!GrpcRaftStorageNetwork.TryParse(address, out _, out _))
            {
                throw new ArgumentException(
                    $"Raft grain storage '{_name}': '{address}' is not a gRPC address for '{nodeId}'. Use host:port (for example 10.0.0.4:7001) or an http(s):// URI with a port.",
                    nameof(address));
            }
        }
    }

    // On the leader: records the address with a committed entry unless the group has it already; once this returns,
    // this silo's network routes to it (the entry was applied here), and every other silo learns it in log order.
    private async Task RecordAddressAsync(RaftNode node, string nodeId, string address, CancellationToken cancellationToken)
    {
        if (StateMachine.MemberAddresses.TryGetValue(nodeId, out var recorded) && recorded == address)
        {
            return;
        }

        try
        {
            await node.ProposeAsync(GrainStateCommand.SetMemberAddress(nodeId, address), cancellationToken)
                .WaitAsync(_options.OperationTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException(
                $"Raft grain storage '{_name}': recording the address '{address}' of '{nodeId}' did not commit within OperationTimeout ({_options.OperationTimeout}): the leader '{node.Id}' may be cut off from a majority. Nothing was added; retry.",
                ex);
        }
    }
}
