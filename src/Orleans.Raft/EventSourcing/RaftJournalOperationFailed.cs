using Orleans.EventSourcing.Common;

namespace Orleans.Raft.EventSourcing;

/// <summary>
/// A connection issue of the Raft log-consistency provider: reading or appending to a grain's replicated journal
/// failed, and the provider retries. A grain sees it through <c>OnConnectionIssue</c>; it is resolved once an
/// operation succeeds.
/// </summary>
[GenerateSerializer]
public sealed class RaftJournalOperationFailed : PrimaryOperationFailed
{
    /// <summary>What failed: <c>read</c>, <c>append</c>, <c>delete</c>.</summary>
    [Id(0)]
    public string Operation { get; set; } = "";

    /// <summary>Whether the failed operation may nevertheless have been applied (the provider then re-reads to decide).</summary>
    [Id(1)]
    public bool OutcomeUnknown { get; set; }

    /// <summary>The longest wait between two attempts.</summary>
    [Id(2)]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <inheritdoc />
    public override TimeSpan ComputeRetryDelay(TimeSpan? previous)
    {
        // Exponential from 10 ms with jitter, capped: the storage's own operation timeout already waited for elections.
        var next = previous is { } p && p > TimeSpan.Zero ? p * 2 : TimeSpan.FromMilliseconds(10);
        next = next < MaxRetryDelay ? next : MaxRetryDelay;
        return next * (0.75 + (Random.Shared.NextDouble() * 0.5));
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"{Operation} of the grain's Raft journal failed{(OutcomeUnknown ? " (outcome unknown)" : "")}: {Exception?.GetType().Name}: {Exception?.Message}";
}
