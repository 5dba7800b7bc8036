using System.Collections.Immutable;

namespace Orleans.Raft.StateMachine;

// The members' addresses (README, "Adding, removing and replacing silos"): which address each node id was given when
// it was added with one. They are part of the replicated state, so every silo, one restored from a snapshot or started
// later included, learns them in log order; the provider passes each change to its network.
public sealed partial class GrainStateMachine
{
    // Replaced as a whole on each change (rare: one per silo added with an address); read without a lock.
    private volatile ImmutableSortedDictionary<string, string> _memberAddresses = ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal);

    /// <summary>The addresses members were given when they were added (node id → address), as of the last applied entry.</summary>
    public IReadOnlyDictionary<string, string> MemberAddresses => _memberAddresses;

    /// <summary>
    /// Raised on the applier after an entry or a snapshot changed <see cref="MemberAddresses"/>, with the whole new set.
    /// A handler must not block for long: the node applies nothing meanwhile.
    /// </summary>
    public event Action<IReadOnlyDictionary<string, string>>? MemberAddressesChanged;

    private CommandAnswer SetMemberAddress(GrainStateCommand command, long index)
    {
        var addresses = _memberAddresses;
        if (!addresses.TryGetValue(command.MemberId, out var current) || current != command.MemberAddress)
        {
            _memberAddresses = addresses.SetItem(command.MemberId, command.MemberAddress);
            MemberAddressesChanged?.Invoke(_memberAddresses);
        }

        return new CommandAnswer(CommandStatus.Applied, index);
    }

    private static void WriteMemberAddresses(BinaryWriter writer, ImmutableSortedDictionary<string, string> addresses)
    {
        writer.Write(addresses.Count);
        foreach (var (id, address) in addresses)
        {
            writer.Write(id);
            writer.Write(address);
        }
    }

    private static ImmutableSortedDictionary<string, string> ReadMemberAddresses(BinaryReader reader)
    {
        var count = reader.ReadInt32();
        if (count < 0)
        {
            throw new InvalidDataException($"The grain-state snapshot claims {count} member addresses.");
        }

        var builder = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < count; i++)
        {
            var id = reader.ReadString();
            var address = reader.ReadString();
            if (id.Length == 0 || address.Length == 0 || !builder.TryAdd(id, address))
            {
                throw new InvalidDataException($"The grain-state snapshot has a malformed or repeated member address ('{id}' at '{address}').");
            }
        }

        return builder.ToImmutable();
    }

    private void RestoreMemberAddresses(ImmutableSortedDictionary<string, string> addresses)
    {
        var before = _memberAddresses;
        _memberAddresses = addresses;
        if (before.Count != addresses.Count || before.Any(a => !addresses.TryGetValue(a.Key, out var address) || address != a.Value))
        {
            MemberAddressesChanged?.Invoke(addresses);
        }
    }
}
