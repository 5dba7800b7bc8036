using System.Globalization;
using System.Text;

namespace Raft.Testing.Linearizability;

/// <summary>
/// Decides whether a concurrent history of client operations is linearizable with respect to a sequential
/// model: the Wing–Gong / Lowe search as implemented by Porcupine, one independent partition at a time.
/// </summary>
public static class LinearizabilityChecker
{
    // Failure reports show only the end of a long prefix: the operations nearest the failure.
    private const int PrefixTail = 20;
    private const int MaxCandidates = 40;

    /// <summary>Checks <paramref name="history"/> against <paramref name="model"/>.</summary>
    /// <remarks>
    /// The partitions from <see cref="IModel{TState, TInput, TOutput}.Partition"/> are checked in order, and
    /// the check stops at the first illegal one. Operations with <see cref="Operation{TInput, TOutput}.Return"/>
    /// equal to <see cref="long.MaxValue"/> may take effect at any point after their call, or never.
    /// </remarks>
    /// <param name="model">The sequential specification.</param>
    /// <param name="history">The operations, in any order.</param>
    /// <param name="timeout">How long to search before giving up with <see cref="CheckOutcome.Unknown"/>;
    /// <see langword="null"/> or <see cref="Timeout.InfiniteTimeSpan"/> for no limit.</param>
    /// <returns>The verdict, with an explanation unless it is <see cref="CheckOutcome.Ok"/>.</returns>
    /// <exception cref="ArgumentException">An operation returns before it is called.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is negative.</exception>
    public static CheckResult Check<TState, TInput, TOutput>(
        IModel<TState, TInput, TOutput> model,
        IReadOnlyList<Operation<TInput, TOutput>> history,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(history);
        var deadline = new Deadline(timeout);
        foreach (var op in history)
        {
            ArgumentNullException.ThrowIfNull(op, nameof(history));
            if (op.Return < op.Call)
            {
                throw new ArgumentException($"Operation returns before it is called: {op}.", nameof(history));
            }
        }

        var partitions = model.Partition(history).ToList();
        for (var p = 0; p < partitions.Count; p++)
        {
            var partition = partitions[p];
            if (partition.Count == 0)
            {
                continue;
            }

            var search = new PartitionSearch<TState, TInput, TOutput>(model, partition);
            switch (search.Run(deadline))
            {
                case CheckOutcome.Illegal:
                    return new CheckResult(
                        CheckOutcome.Illegal,
                        ExplainIllegal(model, partition, p, partitions.Count, search.BestPrefix, search.BestState));
                case CheckOutcome.Unknown:
                    return new CheckResult(
                        CheckOutcome.Unknown,
                        string.Create(
                            CultureInfo.InvariantCulture,
                            $"Timed out after {deadline.Elapsed.TotalMilliseconds:F0} ms checking partition {p + 1} of {partitions.Count} ({model.DescribePartition(partition)}); the {p} partitions before it are linearizable."));
            }
        }

        return CheckResult.Linearizable;
    }

    private static string ExplainIllegal<TState, TInput, TOutput>(
        IModel<TState, TInput, TOutput> model,
        IReadOnlyList<Operation<TInput, TOutput>> partition,
        int index,
        int partitionCount,
        IReadOnlyList<int> prefix,
        TState state)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Partition {index + 1} of {partitionCount} ({model.DescribePartition(partition)}) is not linearizable.").AppendLine();
        text.Append(CultureInfo.InvariantCulture, $"Longest linearizable prefix found: {prefix.Count} of {partition.Count} operations");
        var pendingInPrefix = prefix.Count(i => partition[i].IsPending);
        if (pendingInPrefix > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $", {pendingInPrefix} of them with an unknown outcome");
        }

        if (prefix.Count > PrefixTail)
        {
            text.Append(CultureInfo.InvariantCulture, $" (the first {prefix.Count - PrefixTail} not shown)");
        }

        text.AppendLine(prefix.Count == 0 ? "." : ":");
        for (var i = Math.Max(0, prefix.Count - PrefixTail); i < prefix.Count; i++)
        {
            text.Append(CultureInfo.InvariantCulture, $"  {i + 1,4}. {Describe(model, partition[prefix[i]])}").AppendLine();
        }

        text.Append("State after it: ").AppendLine(model.DescribeState(state));

        // The operations that could be linearized next are those called before the earliest return among the
        // operations left; the search tried each of them here and none led to a complete linearization.
        var placed = new bool[partition.Count];
        foreach (var op in prefix)
        {
            placed[op] = true;
        }

        var firstReturn = -1;
        for (var i = 0; i < partition.Count; i++)
        {
            if (!placed[i] && (firstReturn < 0 || partition[i].Return < partition[firstReturn].Return))
            {
                firstReturn = i;
            }
        }

        var candidates = Enumerable.Range(0, partition.Count)
            .Where(i => !placed[i] && partition[i].Call <= partition[firstReturn].Return)
            .OrderBy(i => partition[i].IsPending)
            .ThenBy(i => partition[i].Call)
            .ToList();
        text.Append(CultureInfo.InvariantCulture, $"Candidates for the next position (invoked by t={partition[firstReturn].Return}, the earliest return among the rest);")
            .Append(" none leads to a linearization:")
            .AppendLine();
        foreach (var i in candidates.Take(MaxCandidates))
        {
            var (ok, _) = model.Step(state, partition[i].Input, partition[i].Output);
            var why = ok ? "legal here, but no linearization of the rest follows" : "illegal in this state";
            text.Append(CultureInfo.InvariantCulture, $"        {Describe(model, partition[i])}  <- {why}").AppendLine();
        }

        if (candidates.Count > MaxCandidates)
        {
            text.Append(CultureInfo.InvariantCulture, $"        ... and {candidates.Count - MaxCandidates} more").AppendLine();
        }

        text.Append(CultureInfo.InvariantCulture, $"Operations not placed: {partition.Count - prefix.Count}.");
        return text.ToString();
    }

    private static string Describe<TState, TInput, TOutput>(IModel<TState, TInput, TOutput> model, Operation<TInput, TOutput> op)
    {
        var end = op.IsPending ? "pending" : op.Return.ToString(CultureInfo.InvariantCulture);
        return string.Create(CultureInfo.InvariantCulture, $"client {op.ClientId}, t={op.Call}..{end}: {model.Describe(op.Input, op.Output)}");
    }
}
