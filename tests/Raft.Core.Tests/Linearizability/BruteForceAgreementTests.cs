using Raft.Testing.Linearizability;

namespace Raft.Core.Tests.Linearizability;

// The checker prunes its search (memoization, dominance between configurations that differ only in
// unknown-outcome operations); a brute force straight from the definition of linearizability must agree
// with it on every small history, legal or not.
public sealed class BruteForceAgreementTests
{
    private static readonly string?[] Values = [null, "a", "b"];

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Checker_OnRandomSmallHistories_AgreesWithBruteForce(int seed)
    {
        var random = new Random(seed);
        var verdicts = new int[2];
        for (var round = 0; round < 3000; round++)
        {
            var history = RandomHistory(random, count: random.Next(1, 8));

            var expected = BruteForce(history);
            var actual = LinearizabilityChecker.Check(KvModel.Instance, history);

            verdicts[expected ? 1 : 0]++;
            Assert.True(
                actual.Outcome == (expected ? CheckOutcome.Ok : CheckOutcome.Illegal),
                $"seed {seed}, round {round}: brute force says {(expected ? "linearizable" : "not linearizable")}, checker says {actual}\n"
                + string.Join('\n', history));
        }

        // Both verdicts must be well represented, or the comparison proves little.
        Assert.All(verdicts, count => Assert.InRange(count, 300, 3000));
    }

    private static List<Operation<KvInput, KvOutput>> RandomHistory(Random random, int count)
    {
        var history = new List<Operation<KvInput, KvOutput>>();
        for (var i = 0; i < count; i++)
        {
            var call = (long)random.Next(0, 12);
            var ret = call + random.Next(0, 5);
            var input = random.Next(4) switch
            {
                0 => KvInput.Get("k"),
                1 => KvInput.Put("k", Values[random.Next(1, 3)]!),
                2 => KvInput.Delete("k"),
                _ => KvInput.Cas("k", Values[random.Next(3)], Values[random.Next(1, 3)]!),
            };
            var output = input.Op switch
            {
                KvOp.Get => KvOutput.Read(Values[random.Next(3)]),
                KvOp.Cas => KvOutput.CasResult(random.Next(2) == 0),
                _ => KvOutput.Done(),
            };
            history.Add(random.Next(5) == 0
                ? new(i, input, call, KvOutput.Indeterminate, long.MaxValue)
                : new(i, input, call, output, ret));
        }

        return history;
    }

    // Linearizable iff, for some subset of the pending operations, some order of the kept operations
    // respects real time (a returned before b was called => a first) and is legal step by step.
    private static bool BruteForce(List<Operation<KvInput, KvOutput>> history)
    {
        var pending = Enumerable.Range(0, history.Count).Where(i => history[i].IsPending).ToList();
        for (var mask = 0; mask < 1 << pending.Count; mask++)
        {
            var kept = Enumerable.Range(0, history.Count)
                .Where(i => !history[i].IsPending || (mask & (1 << pending.IndexOf(i))) != 0)
                .ToList();
            if (Orders(history, kept, new bool[history.Count], KvModel.Instance.Init(), kept.Count))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Orders(List<Operation<KvInput, KvOutput>> history, List<int> kept, bool[] placed, string? state, int left)
    {
        if (left == 0)
        {
            return true;
        }

        foreach (var i in kept)
        {
            if (placed[i] || kept.Any(j => !placed[j] && j != i && history[j].Return < history[i].Call))
            {
                continue;
            }

            var (ok, next) = KvModel.Instance.Step(state, history[i].Input, history[i].Output);
            if (!ok)
            {
                continue;
            }

            placed[i] = true;
            var found = Orders(history, kept, placed, next, left - 1);
            placed[i] = false;
            if (found)
            {
                return true;
            }
        }

        return false;
    }
}
