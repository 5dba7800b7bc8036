using System.Diagnostics;

namespace Raft.Testing.Linearizability;

/// <summary>A point on the monotonic clock after which a check gives up; none when the timeout is null.</summary>
internal readonly struct Deadline
{
    private readonly long _start;
    private readonly TimeSpan? _timeout;

    public Deadline(TimeSpan? timeout)
    {
        if (timeout is { } t && t < TimeSpan.Zero && t != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, "The timeout must not be negative.");
        }

        _timeout = timeout == Timeout.InfiniteTimeSpan ? null : timeout;
        _start = Stopwatch.GetTimestamp();
    }

    public bool Expired => _timeout is { } t && Stopwatch.GetElapsedTime(_start) >= t;

    public TimeSpan Elapsed => Stopwatch.GetElapsedTime(_start);
}
