using System.Diagnostics;
using Raft.Testing.Linearizability;
using Xunit.Abstractions;

namespace Raft.Core.Tests.Linearizability;

// Histories generated from a serial execution with random intervals around each operation's linearization
// point: linearizable by construction, and not once a read is made to return a value nobody wrote.
// RAFT_SEED=123 replays a single seed.
public sealed class RandomizedHistoryTests(ITestOutputHelper output)
{
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(30);

    private static readonly Dictionary<string, RegisterHistoryGenerator.Options> Shapes = new(StringComparer.Ordinal)
    {
        // The simulator's shape: thousands of operations over tens of keys, some with unknown outcomes.
        ["2000 ops, 10 clients, 20 keys"] = new(Clients: 10, Keys: 20, OperationsPerClient: 200, MaxLatency: 10, UnknownOutcomeProbability: 0.05),
        // One hot key: the search cannot split the work.
        ["300 ops, 10 clients, 1 key"] = new(Clients: 10, Keys: 1, OperationsPerClient: 30, MaxLatency: 10, UnknownOutcomeProbability: 0.05),
        // Slow operations: each overlaps many others.
        ["800 ops, 10 clients, 5 keys, slow"] = new(Clients: 10, Keys: 5, OperationsPerClient: 80, MaxLatency: 40, UnknownOutcomeProbability: 0.05),
    };

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        if (int.TryParse(Environment.GetEnvironmentVariable("RAFT_SEED"), out var seed))
        {
            data.Add(seed);
            return data;
        }

        for (var s = 1; s <= 5; s++)
        {
            data.Add(s);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void GeneratedHistory_OfALinearizableStore_IsLinearizable(int seed)
    {
        foreach (var (shape, options) in Shapes)
        {
            AssertLinearizable(seed, shape, options);
        }
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void GeneratedHistory_WithOneReadOfAValueNeverWritten_IsIllegal(int seed)
    {
        foreach (var (shape, options) in Shapes)
        {
            AssertIllegalOnceCorrupted(seed, shape, options);
        }
    }

    // Ten times the per-key load the simulator produces; proving the corrupted history illegal means
    // exhausting every linearization of the operations before the bad read.
    [Theory]
    [Trait("Category", "Slow")]
    [MemberData(nameof(Seeds))]
    public void GeneratedHistory_OfOneThousandOperationsOnOneKey_GetsTheRightVerdict(int seed)
    {
        var options = new RegisterHistoryGenerator.Options(Clients: 10, Keys: 1, OperationsPerClient: 100, MaxLatency: 10, UnknownOutcomeProbability: 0.02);

        AssertLinearizable(seed, "1000 ops, 10 clients, 1 key", options);
        AssertIllegalOnceCorrupted(seed, "1000 ops, 10 clients, 1 key", options);
    }

    private void AssertLinearizable(int seed, string shape, RegisterHistoryGenerator.Options options)
    {
        var history = RegisterHistoryGenerator.Generate(seed, options);

        var (result, elapsed) = Timed(() => LinearizabilityChecker.Check(KvModel.Instance, history, CheckTimeout));

        output.WriteLine($"seed {seed}, {shape}: {result.Outcome} in {elapsed.TotalMilliseconds:F1} ms");
        Assert.True(result.Outcome == CheckOutcome.Ok, $"seed {seed}, {shape}: {result}");
    }

    private void AssertIllegalOnceCorrupted(int seed, string shape, RegisterHistoryGenerator.Options options)
    {
        var history = RegisterHistoryGenerator.Generate(seed, options);
        var random = new Random(seed);
        var reads = Enumerable.Range(0, history.Count)
            .Where(i => history[i].Input.Op == KvOp.Get && !history[i].IsPending)
            .ToList();
        var victim = reads[random.Next(reads.Count)];
        history[victim] = history[victim] with { Output = KvOutput.Read("never-written") };

        var (result, elapsed) = Timed(() => LinearizabilityChecker.Check(KvModel.Instance, history, CheckTimeout));

        output.WriteLine($"seed {seed}, {shape}, corrupted: {result.Outcome} in {elapsed.TotalMilliseconds:F1} ms");
        Assert.True(result.Outcome == CheckOutcome.Illegal, $"seed {seed}, {shape}: {result}");
        Assert.Contains($"key \"{history[victim].Input.Key}\"", result.Explanation, StringComparison.Ordinal);
        Assert.Contains("-> \"never-written\"  <- illegal in this state", result.Explanation, StringComparison.Ordinal);
    }

    private static (CheckResult Result, TimeSpan Elapsed) Timed(Func<CheckResult> check)
    {
        var start = Stopwatch.GetTimestamp();
        var result = check();
        return (result, Stopwatch.GetElapsedTime(start));
    }
}
