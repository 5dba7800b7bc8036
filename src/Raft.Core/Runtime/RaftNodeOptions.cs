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

    /// <summary>
    /// How long a linearizable read may wait, from when the consensus loop takes it until the state machine has applied
    /// its read index, before it fails with <see cref="RaftTimeoutException"/>. It bounds reads whose request or answer
    /// was lost (a follower's request to the leader travels as an ordinary message) and reads on a node that cannot
    /// catch up. Defaults to 5 seconds.
    /// </summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// When true (the default), <see cref="RaftNode.StopAsync"/> on a leader first hands leadership to the most
    /// up-to-date voter that answered recently, waiting at most about an election timeout, so the cluster does not sit
    /// through an election timeout without a leader. Set false to stop at once.
    /// </summary>
    public bool TransferLeadershipOnStop { get; init; } = true;

    /// <summary>
    /// The node writes a snapshot and compacts its log once this many entries were applied since the last snapshot.
    /// 0 disables the entry-count trigger. Defaults to 100,000.
    /// </summary>
    public long SnapshotEntryThreshold { get; init; } = 100_000;

    /// <summary>
    /// The node writes a snapshot and compacts its log once the payloads applied since the last snapshot exceed this
    /// many bytes. 0 disables the size trigger. Defaults to 64 MiB.
    /// </summary>
    public long SnapshotByteThreshold { get; init; } = 64L * 1024 * 1024;

    /// <summary>
    /// The time slice the node's log-write thread (the thread that makes its appends durable) asks the operating
    /// system's scheduler for, or null (the default) to leave its scheduling alone. On Linux 6.12 and later (the EEVDF
    /// scheduler) a thread with a short slice that wakes up preempts the thread running on a busy core rather than
    /// waiting for that thread's slice (0.7–3 ms by core count) to end, so a follower's write starts as soon as its
    /// entries arrive; it gets no more CPU than before, only sooner. Worth it where the node shares its cores with a
    /// busy host (Orleans.Raft sets 100 µs: its benchmark's Raft writes ran 15–25 % faster); a node with a process of
    /// its own ran slower with it at full load. Elsewhere, and on older kernels, it has no effect. Between 100 µs and
    /// 100 ms (the kernel's range).
    /// </summary>
    public TimeSpan? LogWriteThreadSlice { get; init; }

    /// <summary>The shortest <see cref="LogWriteThreadSlice"/>: the kernel clamps a requested slice to 0.1–100 ms.</summary>
    public static readonly TimeSpan MinLogWriteThreadSlice = TimeSpan.FromMicroseconds(100);

    /// <summary>The longest <see cref="LogWriteThreadSlice"/>.</summary>
    public static readonly TimeSpan MaxLogWriteThreadSlice = TimeSpan.FromMilliseconds(100);

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

        if (ReadTimeout <= TimeSpan.Zero || ReadTimeout == Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException(
                $"RaftNodeOptions.ReadTimeout must be a positive, finite time span (was {ReadTimeout}); reads must never wait forever.",
                nameof(ReadTimeout));
        }

        if (SnapshotEntryThreshold < 0 || SnapshotByteThreshold < 0)
        {
            throw new ArgumentException(
                $"RaftNodeOptions.SnapshotEntryThreshold and SnapshotByteThreshold must be 0 (disabled) or more (were {SnapshotEntryThreshold} and {SnapshotByteThreshold}).",
                nameof(SnapshotEntryThreshold));
        }

        if (LogWriteThreadSlice is { } slice && (slice < MinLogWriteThreadSlice || slice > MaxLogWriteThreadSlice))
        {
            throw new ArgumentException(
                $"RaftNodeOptions.LogWriteThreadSlice must be between {MinLogWriteThreadSlice.TotalMicroseconds} µs and {MaxLogWriteThreadSlice.TotalMilliseconds} ms, or null to leave the thread's scheduling alone (was {slice.TotalMicroseconds} µs).",
                nameof(LogWriteThreadSlice));
        }

        if (MaxPendingApplyBatches < 1)
        {
            throw new ArgumentException(
                $"RaftNodeOptions.MaxPendingApplyBatches must be at least 1 (was {MaxPendingApplyBatches}).", nameof(MaxPendingApplyBatches));
        }
    }
}
