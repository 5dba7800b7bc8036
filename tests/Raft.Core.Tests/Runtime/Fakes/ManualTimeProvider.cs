namespace Raft.Core.Tests.Runtime.Fakes;

// A TimeProvider whose timers fire only when the test says so. Its clock is the system's monotonic clock, moved on by
// Advance.
public sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private long _advanced;

    public override long GetTimestamp() => base.GetTimestamp() + Volatile.Read(ref _advanced);

    // When set, the wall clock stands at this time (as one stepped back across a restart may).
    public DateTimeOffset? UtcNow { get; set; }

    public override DateTimeOffset GetUtcNow() => UtcNow ?? base.GetUtcNow();

    // Moves the clock on without firing any timer, as a process finds when it wakes from a pause.
    public void Advance(TimeSpan by) => Interlocked.Add(ref _advanced, (long)(by.TotalSeconds * TimestampFrequency));

    public int TimerCount
    {
        get
        {
            lock (_lock)
            {
                return _timers.Count(t => !t.Disposed);
            }
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(callback, state);
        lock (_lock)
        {
            _timers.Add(timer);
        }

        return timer;
    }

    public void FireAll()
    {
        ManualTimer[] timers;
        lock (_lock)
        {
            timers = [.. _timers.Where(t => !t.Disposed)];
        }

        foreach (var timer in timers)
        {
            timer.Fire();
        }
    }

    // Fires every timer every few milliseconds until disposed, like a real clock (for shutting a cluster down).
    public IAsyncDisposable StartTicking()
    {
        var stop = new CancellationTokenSource();
        var ticking = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                FireAll();
                await Task.Delay(5);
            }
        });
        return new Ticking(stop, ticking);
    }

    private sealed class Ticking(CancellationTokenSource stop, Task ticking) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await stop.CancelAsync();
            await ticking;
            stop.Dispose();
        }
    }

    private sealed class ManualTimer(TimerCallback callback, object? state) : ITimer
    {
        public bool Disposed { get; private set; }

        public void Fire()
        {
            if (!Disposed)
            {
                callback(state);
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period) => !Disposed;

        public void Dispose() => Disposed = true;

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
