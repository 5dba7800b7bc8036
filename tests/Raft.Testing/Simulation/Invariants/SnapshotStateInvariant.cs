namespace Raft.Testing.Simulation.Invariants;

/// <summary>
/// A snapshot holds exactly the state of applying the committed log through its index (§7): every snapshot taken or
/// received at an index, and every state machine that applied entries one by one through that index, serialize alike.
/// </summary>
/// <remarks>
/// The state machine's snapshot format is deterministic (sorted keys), so equal states give equal bytes and a hash
/// compares them. Only indexes where some snapshot exists are compared, which keeps the check cheap: serializing a
/// state machine happens only when it passes such an index.
/// </remarks>
public sealed class SnapshotStateInvariant
{
    /// <summary>The name reported on a violation.</summary>
    public const string Name = "Snapshot state equals applied state (§7)";

    private readonly Dictionary<long, (ulong Hash, string Source)> _states = [];

    /// <summary>Whether some snapshot at <paramref name="index"/> was seen, so a state at that index is worth comparing.</summary>
    /// <param name="index">The applied index.</param>
    /// <returns>True when a state is recorded for it.</returns>
    public bool HasState(long index) => _states.ContainsKey(index);

    /// <summary>Records or compares the state at <paramref name="index"/>.</summary>
    /// <param name="index">The last index the state includes.</param>
    /// <param name="data">The state, serialized.</param>
    /// <param name="source">Who holds it and how, for the report.</param>
    /// <exception cref="InvariantViolationException">Another state was seen at the same index.</exception>
    public void Observe(long index, ReadOnlySpan<byte> data, string source)
    {
        var hash = Hash(data);
        if (_states.TryGetValue(index, out var seen))
        {
            if (seen.Hash != hash)
            {
                throw new InvariantViolationException(Name, $"{source} has a state at index {index} that differs from the one {seen.Source} had.");
            }

            return;
        }

        _states.Add(index, (hash, source));
    }

    private static ulong Hash(ReadOnlySpan<byte> data)
    {
        var hash = 14695981039346656037UL;
        foreach (var b in data)
        {
            hash = (hash ^ b) * 1099511628211UL;
        }

        return hash;
    }
}
