namespace Raft.Core.Runtime;

/// <summary>Configuration of a <see cref="RaftNode"/>: the engine's options plus the runtime's own.</summary>
/// <remarks><see cref="Validate"/> is called by the <see cref="RaftNode"/> constructor; its messages say what to fix.</remarks>
public sealed record RaftNodeOptions
{
    /// <summary>The consensus engine's options (id, voters, tick counts).</summary>
    public required RaftOptions Raft { get; init; }

    /// <summary>
    /// Wall-clock time between two engine ticks; the election timeout is <see cref="RaftOptions.ElectionTick"/> ×
    /// this interval. Defaults to 50 ms, which with the default 10 election ticks gives a 500–1000 ms election timeout.
    /// </summary>
    public TimeSpan TickInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// Most queued events (proposals, messages, ticks) the consensus loop takes in one iteration, and so the largest
    /// batch of proposals that go into one append. Defaults to 4096.
    /// </summary>
    public int MaxEventsPerIteration { get; init; } = 4096;

    /// <summary>
    /// Most batches of committed entries waiting for the state machine; when it is full the consensus loop waits for
    /// the applier instead of buffering without bound. Defaults to 1024.
    /// </summary>
    public int MaxPendingApplyBatches { get; init; } = 1024;

    /// <summary>Throws <see cref="ArgumentException"/> naming the setting to fix when the options are inconsistent.</summary>
    /// <exception cref="ArgumentException">A setting is missing or out of range.</exception>
    public void Validate()
    {
        if (Raft is null)
        {
            throw new ArgumentException("RaftNodeOptions.Raft must be set to the engine's RaftOptions.", nameof(Raft));
        }

        Raft.Validate();

        if (TickInterval <= TimeSpan.Zero || TickInterval == Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException(
                $"RaftNodeOptions.TickInterval must be a positive, finite time span (was {TickInterval}); 10–100 ms is typical.",
                nameof(TickInterval));
        }

        if (MaxEventsPerIteration < 1)
        {
            throw new ArgumentException(
                $"RaftNodeOptions.MaxEventsPerIteration must be at least 1 (was {MaxEventsPerIteration}).", nameof(MaxEventsPerIteration));
        }

        if (MaxPendingApplyBatches < 1)
        {
            throw new ArgumentException(
                $"RaftNodeOptions.MaxPendingApplyBatches must be at least 1 (was {MaxPendingApplyBatches}).", nameof(MaxPendingApplyBatches));
        }
    }
}
