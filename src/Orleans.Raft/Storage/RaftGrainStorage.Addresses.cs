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
    /// Every silo this one can reach, node id → address: the options' <c>Members</c> and <c>AdditionalMembers</c>, the
    /// addresses the group recorded when silos were added with one (which take precedence), and the address of a leader
    /// this silo had none for, as the other silos reported it (until the group's record reaches this silo).
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

    // A silo that missed the entry recording its leader's address (it was down, or lost its record) refuses that leader's
    // messages (a node accepts them only from nodes it has an address for), so it would never learn the address from
    // the log: the removal watch asks the other silos, and takes from their answers the address of a leader this silo
    // has none for. Never one it has: only the group's entries change those.
    private void LearnLeaderAddresses(string nodeId, IRaftStorageConnection connection, IEnumerable<RaftPeerView> views)
    {
        if (_addresses is not { } book)
        {
            return;
        }

        foreach (var view in views)
        {
            if (view is not { LeaderId: { } leaderId, LeaderAddress: { } address } || leaderId == nodeId)
            {
                continue;
            }

            // Under the applier's lock (OnMemberAddressesChanged): a recorded address applied meanwhile wins, and is
            // never overwritten by this one.
            lock (_recordedAddresses)
            {
                if (!book.TryAdd(leaderId, address))
                {
                    continue;
                }

                try
                {
                    connection.CheckPeerAddress(leaderId, address);
                    connection.SetPeerAddress(leaderId, address);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    book.TryRemove(new KeyValuePair<string, string>(leaderId, address));
                    Log.MemberAddressUnusable(_logger, ex, _name, nodeId, leaderId, address);
                    continue;
                }
            }

            Log.LeaderAddressLearned(_logger, _name, nodeId, leaderId, address, view.NodeId);
        }
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

                // This silo listens where its own options say, whatever the others were told.
                if (id != NodeId && (!book.TryGetValue(id, out var current) || current != address))
                {
                    try
                    {
                        _connection?.SetPeerAddress(id, address);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // Routing only: the node goes on applying (an exception here would stop it). Neither the book
                        // nor the record takes an address the network refused, so the next start is not refused.
                        Log.MemberAddressUnusable(_logger, ex, _name, NodeId, id, address);
                        continue;
                    }

                    book[id] = address;
                    Log.MemberAddressSet(_logger, _name, NodeId, id, address);
                }

                _recordedAddresses[id] = address;
                toSave = new Dictionary<string, string>(_recordedAddresses, StringComparer.Ordinal);
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
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Only the head start of the next start is lost (MemberAddressesRecord).
            Log.MemberAddressesNotRecorded(_logger, ex, _name, NodeId, Path.Combine(directory, MemberAddressesRecord.FileName));
        }
    }

    // What AddVoterAsync accepts as a joining silo's address: what this silo's network can use (checked on the silo
    // called and again on the leader's, before anything is recorded). Without a running connection the call fails
    // next anyway (RunningNode).
    private void CheckAddress(string nodeId, string address)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(address);
        try
        {
            _connection?.CheckPeerAddress(nodeId, address);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"Raft grain storage '{_name}': {ex.Message}", ex.ParamName, ex);
        }
    }

    // On the leader: records the address with a committed entry; once this returns, this silo's network routes to it
    // (the entry was applied here), and every other silo learns it in log order. Always proposed, even when this
    // replica holds the address already: a new leader may not have applied a later entry that changed it.
    private async Task RecordAddressAsync(RaftNode node, string nodeId, string address, CancellationToken cancellationToken)
    {
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
