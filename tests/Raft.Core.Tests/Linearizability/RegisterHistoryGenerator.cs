using Raft.Testing.Linearizability;

namespace Raft.Core.Tests.Linearizability;

/// <summary>
/// Generates key-value histories that are linearizable by construction: every operation gets a linearization
/// point inside its interval, and the operations are executed serially in the order of those points against
/// a real dictionary to decide their inputs and outputs.
/// </summary>
internal static class RegisterHistoryGenerator
{
    public sealed record Options(int Clients, int Keys, int OperationsPerClient, int MaxLatency, double UnknownOutcomeProbability);

    public static List<Operation<KvInput, KvOutput>> Generate(int seed, Options options)
    {
        var random = new Random(seed);
        var planned = new List<Planned>();
        for (var client = 0; client < options.Clients; client++)
        {
            var clock = (long)random.Next(0, options.MaxLatency);
            for (var i = 0; i < options.OperationsPerClient; i++)
            {
                var call = clock + random.Next(0, 3);
                var key = $"k{random.Next(options.Keys)}";
                if (random.NextDouble() < options.UnknownOutcomeProbability)
                {
                    // The client gives up after a while; the operation takes effect later (possibly after the
                    // client's next operations) or never.
                    var takesEffect = random.Next(2) == 0;
                    var point = call + random.Next(0, 4 * options.MaxLatency);
                    planned.Add(new Planned(client, key, call, point, long.MaxValue, takesEffect));
                    clock = call + (2 * options.MaxLatency) + 1;
                }
                else
                {
                    var point = call + random.Next(0, options.MaxLatency);
                    var ret = point + random.Next(0, options.MaxLatency);
                    planned.Add(new Planned(client, key, call, point, ret, TakesEffect: true));
                    clock = ret + 1;
                }
            }
        }

        // Equal points are broken arbitrarily (by list position): both intervals contain the point, so
        // either order is a valid linearization.
        var store = new Dictionary<string, string?>(StringComparer.Ordinal);
        var written = 0;
        var history = new Operation<KvInput, KvOutput>[planned.Count];
        foreach (var (plan, index) in planned.Select((p, i) => (p, i)).OrderBy(x => x.p.Point).ThenBy(x => x.i))
        {
            var current = store.GetValueOrDefault(plan.Key);
            KvInput input;
            KvOutput output;
            switch (random.Next(10))
            {
                case < 4:
                    input = KvInput.Get(plan.Key);
                    output = KvOutput.Read(current);
                    break;
                case < 7:
                    input = KvInput.Put(plan.Key, $"v{written++}");
                    output = KvOutput.Done();
                    break;
                case < 8:
                    input = KvInput.Delete(plan.Key);
                    output = KvOutput.Done();
                    break;
                default:
                    // Mostly expect the current value so that swaps happen; sometimes a stale one.
                    var expected = random.Next(3) == 0 ? $"v{random.Next(Math.Max(1, written))}" : current;
                    input = KvInput.Cas(plan.Key, expected, $"v{written++}");
                    output = KvOutput.CasResult(string.Equals(current, expected, StringComparison.Ordinal));
                    break;
            }

            if (plan.TakesEffect)
            {
                var (_, next) = KvModel.Instance.Step(current, input, output);
                store[plan.Key] = next;
            }

            history[index] = plan.Return == long.MaxValue
                ? new Operation<KvInput, KvOutput>(plan.Client, input, plan.Call, KvOutput.Indeterminate, long.MaxValue)
                : new Operation<KvInput, KvOutput>(plan.Client, input, plan.Call, output, plan.Return);
        }

        return [.. history];
    }

    private sealed record Planned(int Client, string Key, long Call, long Point, long Return, bool TakesEffect);
}
