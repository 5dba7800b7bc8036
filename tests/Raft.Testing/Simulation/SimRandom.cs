namespace Raft.Testing.Simulation;

/// <summary>The simulator's only source of randomness: xoshiro256** seeded through SplitMix64.</summary>
/// <remarks>
/// Written out here rather than using <see cref="Random"/> so that a seed replays the same run on every .NET version
/// and platform. Each component takes its own <see cref="Fork"/>, so drawing one more number in the network does not
/// shift every later fault and client decision.
/// </remarks>
public sealed class SimRandom
{
    private ulong _s0;
    private ulong _s1;
    private ulong _s2;
    private ulong _s3;

    /// <summary>Creates a generator from a seed.</summary>
    /// <param name="seed">Any value; equal seeds give equal sequences.</param>
    public SimRandom(ulong seed)
    {
        var x = seed;
        _s0 = SplitMix(ref x);
        _s1 = SplitMix(ref x);
        _s2 = SplitMix(ref x);
        _s3 = SplitMix(ref x);
    }

    /// <summary>The next 64 random bits.</summary>
    /// <returns>A uniformly distributed value.</returns>
    public ulong NextUInt64()
    {
        var result = RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>A value in [0, <paramref name="maxExclusive"/>).</summary>
    /// <param name="maxExclusive">The bound; at least 1.</param>
    /// <returns>The value.</returns>
    public int Next(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxExclusive, 1);
        return (int)(NextUInt64() % (ulong)maxExclusive);
    }

    /// <summary>A value in [<paramref name="min"/>, <paramref name="maxExclusive"/>).</summary>
    /// <param name="min">The lower bound.</param>
    /// <param name="maxExclusive">The upper bound; greater than <paramref name="min"/>.</param>
    /// <returns>The value.</returns>
    public int Next(int min, int maxExclusive) => min + Next(maxExclusive - min);

    /// <summary>A value in [<paramref name="min"/>, <paramref name="maxExclusive"/>).</summary>
    /// <param name="min">The lower bound.</param>
    /// <param name="maxExclusive">The upper bound; greater than <paramref name="min"/>.</param>
    /// <returns>The value.</returns>
    public long NextLong(long min, long maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(maxExclusive, min);
        return min + (long)(NextUInt64() % (ulong)(maxExclusive - min));
    }

    /// <summary>A value in [0, 1).</summary>
    /// <returns>The value.</returns>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>True with probability <paramref name="probability"/>.</summary>
    /// <param name="probability">In [0, 1]; 0 never draws a number, so disabled faults cost nothing.</param>
    /// <returns>Whether the event happens.</returns>
    public bool Chance(double probability) => probability > 0 && (probability >= 1 || NextDouble() < probability);

    /// <summary>A duration drawn from an exponential distribution, as for the gaps of a Poisson process.</summary>
    /// <param name="mean">The mean; at least 1.</param>
    /// <returns>A value of at least 1.</returns>
    public long Exponential(long mean) => Math.Max(1, (long)(-Math.Log(1 - NextDouble()) * mean));

    /// <summary>One item of a non-empty list.</summary>
    /// <typeparam name="T">The item type.</typeparam>
    /// <param name="items">The choices.</param>
    /// <returns>The chosen item.</returns>
    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    /// <summary>An independent generator seeded from this one.</summary>
    /// <returns>The new generator.</returns>
    public SimRandom Fork() => new(NextUInt64());

    private static ulong SplitMix(ref ulong x)
    {
        x += 0x9E3779B97F4A7C15;
        var z = x;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }

    private static ulong RotateLeft(ulong x, int k) => (x << k) | (x >> (64 - k));
}
