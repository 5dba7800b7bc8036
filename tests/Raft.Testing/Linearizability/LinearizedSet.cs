using System.Diagnostics;

namespace Raft.Testing.Linearizability;

/// <summary>
/// The set of operations linearized so far on the current search path: a bitset over operation indexes
/// with an incrementally maintained Zobrist hash (the XOR of a fixed random word per member), so the
/// cache can hash a configuration in O(1) instead of rehashing the bitset at every step.
/// </summary>
internal sealed class LinearizedSet
{
    private readonly ulong[] _words;
    private readonly ulong[] _keys;

    // Invariant: _hash == XOR of _keys[i] over every i whose bit is set in _words.
    private ulong _hash;

    public LinearizedSet(int count)
    {
        _words = new ulong[(count + 63) >> 6];
        _keys = new ulong[count];
        var seed = 0x9E3779B97F4A7C15UL;
        for (var i = 0; i < count; i++)
        {
            _keys[i] = SplitMix64(ref seed);
        }
    }

    /// <summary>Gets the live words; callers must copy them (<see cref="Snapshot"/>) before keeping them.</summary>
    public ulong[] Words => _words;

    public ulong Hash => _hash;

    public bool Contains(int index) => (_words[index >> 6] & (1UL << index)) != 0;

    public void Add(int index)
    {
        Debug.Assert(!Contains(index));
        _words[index >> 6] |= 1UL << index;
        _hash ^= _keys[index];
    }

    public void Remove(int index)
    {
        Debug.Assert(Contains(index));
        _words[index >> 6] &= ~(1UL << index);
        _hash ^= _keys[index];
    }

    public ulong[] Snapshot() => (ulong[])_words.Clone();

    private static ulong SplitMix64(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
