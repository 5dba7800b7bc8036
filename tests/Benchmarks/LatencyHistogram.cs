using System.Numerics;

namespace Benchmarks;

/// <summary>A lock-free, log-linear histogram of latencies in microseconds (about 0.2 % precision).</summary>
internal sealed class LatencyHistogram
{
    // Values below 1024 µs have one bucket each; above, every power of two is split into 512 buckets.
    private const int SubBuckets = 512;
    private const int LinearLimit = 1024;
    private readonly long[] _counts = new long[LinearLimit + (48 * SubBuckets)];

    // Summed when asked rather than kept in one shared counter: every recording caller would write that counter's
    // cache line, and on two cores the benchmark would measure its own contention.
    public long Count
    {
        get
        {
            long total = 0;
            for (var bucket = 0; bucket < _counts.Length; bucket++)
            {
                total += Interlocked.Read(ref _counts[bucket]);
            }

            return total;
        }
    }

    public void Record(long microseconds) => Interlocked.Increment(ref _counts[BucketOf(Math.Max(0, microseconds))]);

    public double Percentile(double percentile)
    {
        var total = Count;
        if (total == 0)
        {
            return double.NaN;
        }

        var rank = (long)Math.Ceiling(percentile / 100 * total);
        long seen = 0;
        for (var bucket = 0; bucket < _counts.Length; bucket++)
        {
            seen += Interlocked.Read(ref _counts[bucket]);
            if (seen >= rank)
            {
                return ValueOf(bucket);
            }
        }

        return ValueOf(_counts.Length - 1);
    }

    private static int BucketOf(long value)
    {
        if (value < LinearLimit)
        {
            return (int)value;
        }

        var shift = BitOperations.Log2((ulong)value) - 9;
        return LinearLimit + ((shift - 1) * SubBuckets) + (int)((value >> shift) - SubBuckets);
    }

    private static long ValueOf(int bucket)
    {
        if (bucket < LinearLimit)
        {
            return bucket;
        }

        var shift = ((bucket - LinearLimit) / SubBuckets) + 1;
        var mantissa = ((bucket - LinearLimit) % SubBuckets) + SubBuckets;
        return (long)mantissa << shift;
    }
}
