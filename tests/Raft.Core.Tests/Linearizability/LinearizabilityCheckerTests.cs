using System.Collections.Immutable;
using Raft.Testing.Linearizability;
using static Raft.Core.Tests.Linearizability.KvHistory;

namespace Raft.Core.Tests.Linearizability;

public sealed class LinearizabilityCheckerTests
{
    [Fact]
    public void Check_OperationReturningBeforeItsCall_Throws()
    {
        Assert.Throws<ArgumentException>(() => Check(Put(1, "k", "a", 5, 4)));
    }

    [Fact]
    public void Check_NegativeTimeout_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(
            () => LinearizabilityChecker.Check(KvModel.Instance, [Put(1, "k", "a", 0, 1)], TimeSpan.FromSeconds(-1)));
    }

    [Fact]
    public void Check_InfiniteTimeout_MeansNoLimit()
    {
        var result = LinearizabilityChecker.Check(KvModel.Instance, [Put(1, "k", "a", 0, 1)], Timeout.InfiniteTimeSpan);

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
    }

    // The clock is consulted only every so many search steps, so a zero timeout still lets a small
    // history finish but stops a long one; neither may yield a wrong verdict.
    [Fact]
    public void Check_ZeroTimeout_OnShortHistory_NeverReportsIllegal()
    {
        var result = LinearizabilityChecker.Check(KvModel.Instance, [Put(1, "k", "a", 0, 1), Get(2, "k", "a", 2, 3)], TimeSpan.Zero);

        Assert.NotEqual(CheckOutcome.Illegal, result.Outcome);
    }

    [Fact]
    public void Check_ZeroTimeout_OnLongHistory_ReturnsUnknown()
    {
        var history = Enumerable.Range(0, 5000)
            .Select(i => i % 2 == 0 ? Put(1, "k", $"v{i}", 2 * i, (2 * i) + 1) : Get(1, "k", $"v{i - 1}", 2 * i, (2 * i) + 1))
            .ToList();

        var result = LinearizabilityChecker.Check(KvModel.Instance, history, TimeSpan.Zero);

        Assert.Equal(CheckOutcome.Unknown, result.Outcome);
        Assert.Contains("Timed out", result.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_LongSequentialHistory_IsLinearizable()
    {
        var history = Enumerable.Range(0, 5000)
            .Select(i => i % 2 == 0 ? Put(1, "k", $"v{i}", 2 * i, (2 * i) + 1) : Get(1, "k", $"v{i - 1}", 2 * i, (2 * i) + 1))
            .ToList();

        Assert.Equal(CheckOutcome.Ok, LinearizabilityChecker.Check(KvModel.Instance, history, TimeSpan.FromSeconds(30)).Outcome);
    }

    // The checker is not tied to registers: a FIFO queue whose state is a list.
    [Fact]
    public void Queue_DequeueOrderOfConcurrentEnqueues_MayBeEither()
    {
        var result = LinearizabilityChecker.Check(
            new QueueModel(),
            [
                new(1, QueueInput.Enqueue(1), 0, null, 10),
                new(2, QueueInput.Enqueue(2), 1, null, 9),
                new(3, QueueInput.Dequeue, 11, 2, 12),
                new(3, QueueInput.Dequeue, 13, 1, 14),
            ]);

        Assert.Equal(CheckOutcome.Ok, result.Outcome);
    }

    [Fact]
    public void Queue_DequeueOrderAgainstSequentialEnqueues_IsIllegal()
    {
        var result = LinearizabilityChecker.Check(
            new QueueModel(),
            [
                new(1, QueueInput.Enqueue(1), 0, null, 1),
                new(2, QueueInput.Enqueue(2), 2, null, 3),
                new(3, QueueInput.Dequeue, 4, 2, 5),
                new(3, QueueInput.Dequeue, 6, 1, 7),
            ]);

        Assert.Equal(CheckOutcome.Illegal, result.Outcome);
        Assert.Contains("Partition 1 of 1 (4 operations)", result.Explanation, StringComparison.Ordinal);
        Assert.Contains("State after it: [1, 2]", result.Explanation, StringComparison.Ordinal);
    }

    // Every order of the concurrent enqueues is a distinct queue state, so this searches up to 6! orders
    // before finding the one the dequeues need.
    [Fact]
    public void Queue_ConcurrentEnqueuesDrainedInAnyOrder_IsLinearizable()
    {
        const int Count = 6;
        var history = new List<Operation<QueueInput, int?>>();
        for (var i = 0; i < Count; i++)
        {
            history.Add(new(i, QueueInput.Enqueue(i), i, null, 100));
        }

        for (var i = 0; i < Count; i++)
        {
            history.Add(new(99, QueueInput.Dequeue, 200 + (2 * i), (i * 5) % Count, 201 + (2 * i)));
        }

        Assert.Equal(CheckOutcome.Ok, LinearizabilityChecker.Check(new QueueModel(), history, TimeSpan.FromSeconds(30)).Outcome);
    }

    public sealed record QueueInput(bool IsEnqueue, int Value)
    {
        public static QueueInput Dequeue { get; } = new(false, 0);

        public static QueueInput Enqueue(int value) => new(true, value);
    }

    // Output: null for an enqueue, the dequeued value (null when empty) for a dequeue.
    private sealed class QueueModel : IModel<ImmutableList<int>, QueueInput, int?>
    {
        public ImmutableList<int> Init() => [];

        public IEnumerable<IReadOnlyList<Operation<QueueInput, int?>>> Partition(IReadOnlyList<Operation<QueueInput, int?>> history) => [history];

        public (bool Ok, ImmutableList<int> Next) Step(ImmutableList<int> state, QueueInput input, int? output)
        {
            if (input.IsEnqueue)
            {
                return (output is null, state.Add(input.Value));
            }

            return state.IsEmpty ? (output is null, state) : (output == state[0], state.RemoveAt(0));
        }

        public bool Equal(ImmutableList<int> a, ImmutableList<int> b) => a.SequenceEqual(b);

        public int Hash(ImmutableList<int> state)
        {
            var hash = default(HashCode);
            foreach (var item in state)
            {
                hash.Add(item);
            }

            return hash.ToHashCode();
        }

        public string Describe(QueueInput input, int? output) =>
            input.IsEnqueue ? $"enqueue({input.Value})" : $"dequeue() -> {output?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "empty"}";

        public string DescribeState(ImmutableList<int> state) => $"[{string.Join(", ", state)}]";
    }
}
