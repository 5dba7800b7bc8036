namespace Raft.Testing.Simulation;

/// <summary>The discrete-event schedule: events ordered by virtual time, ties broken by the order they were scheduled.</summary>
/// <remarks>The sequence number makes the order total, so equal seeds pop events in exactly the same order.</remarks>
internal sealed class EventQueue
{
    private readonly PriorityQueue<SimEvent, (long Time, long Sequence)> _queue = new();
    private long _sequence;

    /// <summary>The time of the event popped last; never goes backwards.</summary>
    public long Now { get; private set; }

    public int Count => _queue.Count;

    /// <summary>Schedules <paramref name="simEvent"/> <paramref name="delay"/> microseconds from now.</summary>
    public void After(long delay, SimEvent simEvent)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(delay);
        _queue.Enqueue(simEvent, (Now + delay, _sequence++));
    }

    public bool TryPop(out SimEvent simEvent, out long time)
    {
        if (!_queue.TryDequeue(out simEvent!, out var key))
        {
            time = Now;
            return false;
        }

        Now = key.Time;
        time = key.Time;
        return true;
    }
}
