using System.Diagnostics;
using System.Globalization;
using System.Text;
using Raft.Core.Messages;
using Raft.Storage.Faster.CrashWorker;
using Xunit.Abstractions;

namespace Raft.Storage.Faster.Tests;

// Kills a real child process with SIGKILL at random moments while it appends, replaces suffixes, compacts, resets and
// saves hard state; after each kill the stores must reopen (a clean crash is never "corruption") holding every
// acknowledged operation, and the log must be either the acknowledged one or the one with the interrupted operation
// applied, never a mix. RAFT_CRASH_ROUNDS sets the number of rounds (default 50), RAFT_SEED replays a run.
[Trait("Category", "Slow")]
public sealed class CrashTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _directory = new();

    [Fact]
    public async Task KillDuringRandomOperations_EveryAcknowledgedOperationSurvives()
    {
        var rounds = int.TryParse(Environment.GetEnvironmentVariable("RAFT_CRASH_ROUNDS"), out var r) ? r : 50;
        var seed = int.TryParse(Environment.GetEnvironmentVariable("RAFT_SEED"), out var s) ? s : Random.Shared.Next(1_000_000);
        output.WriteLine($"RAFT_SEED={seed} RAFT_CRASH_ROUNDS={rounds}");
        var random = new Random(seed);
        var model = new Model();
        var stats = new Dictionary<string, int>();
        for (var round = 0; round < rounds; round++)
        {
            var lines = await RunAndKillAsync(seed * 1000 + round, random.Next(5, 300), $"seed {seed}, round {round}");
            var (acked, inFlight) = Replay(model, lines, $"seed {seed}, round {round}");
            stats[inFlight?.Op ?? "none"] = stats.GetValueOrDefault(inFlight?.Op ?? "none") + 1;
            model = await VerifyAsync(acked, inFlight, $"seed {seed}, round {round}");
        }

        output.WriteLine($"killed during: {string.Join(", ", stats.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}"))}; final log [{model.First}, {model.Last}]");
    }

    public void Dispose() => _directory.Dispose();

    private async Task<List<string>> RunAndKillAsync(int seed, int delayMs, string context)
    {
        var worker = Path.GetFullPath(Path.Combine(
            AppContext.BaseDirectory, "..", "..", "..", "..", "Raft.Storage.Faster.CrashWorker", "bin",
            new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, new DirectoryInfo(AppContext.BaseDirectory).Name,
            "Raft.Storage.Faster.CrashWorker.dll"));
        Assert.True(File.Exists(worker), $"crash worker not built at {worker}");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(worker);
        start.ArgumentList.Add(_directory.Path);
        start.ArgumentList.Add(seed.ToString(CultureInfo.InvariantCulture));
        using var process = Process.Start(start)!;
        var lines = new List<string>();
        var opened = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var stderr = process.StandardError.ReadToEndAsync();
        var reader = Task.Run(async () =>
        {
            while (await process.StandardOutput.ReadLineAsync() is { } line)
            {
                lock (lines)
                {
                    lines.Add(line);
                }

                if (line.StartsWith("OPEN", StringComparison.Ordinal))
                {
                    opened.TrySetResult();
                }
            }

            opened.TrySetResult();
        });

        await opened.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await Task.Delay(delayMs);
        var exitedByItself = process.HasExited;
        process.Kill(); // SIGKILL on Unix
        await process.WaitForExitAsync();
        await reader;
        if (exitedByItself || !lines.Any(l => l.StartsWith("OPEN", StringComparison.Ordinal)))
        {
            Assert.Fail($"The crash worker stopped by itself ({context}): {await stderr}");
        }

        return lines;
    }

    private static (Model Acked, Operation? InFlight) Replay(Model model, List<string> lines, string context)
    {
        var open = lines[0].Split(' ');
        Assert.True(open[0] == "OPEN", $"first line '{lines[0]}' ({context})");
        Assert.Equal(model.First, long.Parse(open[1], CultureInfo.InvariantCulture));
        Assert.Equal(model.Last, long.Parse(open[2], CultureInfo.InvariantCulture));
        Operation? pending = null;
        foreach (var line in lines.Skip(1))
        {
            if (line == "ACK")
            {
                Assert.NotNull(pending);
                model = model.Apply(pending);
                pending = null;
            }
            else if (line.StartsWith("BEGIN ", StringComparison.Ordinal))
            {
                var parts = line.Split(' ');
                pending = new Operation(parts[1], [.. parts.Skip(2).Select(p => long.Parse(p, CultureInfo.InvariantCulture))]);
            }
        }

        return (model, pending);
    }

    private async Task<Model> VerifyAsync(Model acked, Operation? inFlight, string context)
    {
        await using var log = await FasterLogStore.OpenAsync(CrashOptions.Log(_directory.Sub("log")));
        using var hardState = FileHardStateStore.Open(_directory.Sub("hardstate"));
        var first = log.FirstIndex;
        var last = log.LastIndex;
        var entries = last >= first ? await log.ReadAsync(first, last) : [];
        var state = await hardState.LoadAsync();
        var candidates = inFlight is null ? [acked] : new[] { acked, acked.Apply(inFlight) };
        var problems = new StringBuilder();
        foreach (var candidate in candidates)
        {
            var problem = candidate.Check(first, last, entries, state.Term);
            if (problem is null)
            {
                return candidate with { First = first };
            }

            problems.Append(CultureInfo.InvariantCulture, $"\n  vs {(candidate == acked ? "acknowledged" : "with the interrupted " + inFlight!.Op)}: {problem}");
        }

        Assert.Fail($"After the kill ({context}, interrupted: {inFlight?.Op ?? "nothing"}) the recovered log [{first}, {last}] (hard-state term {state.Term}) matches no allowed state:{problems}");
        return acked;
    }

    private sealed record Operation(string Op, long[] Args);

    // What the stores must hold: terms of the live entries (compacted ones are kept too, since a lazily compacted log
    // may still hold them) and the hard-state term.
    private sealed record Model
    {
        public long First { get; init; } = 1;

        public long Last { get; init; }

        public long HardStateTerm { get; init; }

        public IReadOnlyDictionary<long, long> Terms { get; init; } = new Dictionary<long, long>();

        public Model Apply(Operation operation)
        {
            var terms = new Dictionary<long, long>(Terms);
            switch (operation.Op)
            {
                case "append":
                    var (from, count, term) = (operation.Args[0], operation.Args[1], operation.Args[2]);
                    foreach (var index in terms.Keys.Where(i => i >= from).ToList())
                    {
                        terms.Remove(index);
                    }

                    for (var i = 0; i < count; i++)
                    {
                        terms[from + i] = term;
                    }

                    return this with { Last = from + count - 1, Terms = terms };
                case "compact":
                    var keep = Math.Min(operation.Args[0] + 1, Last);
                    return keep > First ? this with { First = keep } : this;
                case "reset":
                    return this with { First = operation.Args[0] + 1, Last = operation.Args[0], Terms = new Dictionary<long, long>() };
                case "hardstate":
                    return this with { HardStateTerm = operation.Args[0] };
                default:
                    throw new InvalidOperationException($"unknown operation {operation.Op}");
            }
        }

        public string? Check(long first, long last, IReadOnlyList<Entry> entries, long hardStateTerm)
        {
            if (last != Last || first > First)
            {
                return $"expected last {Last} and first <= {First}";
            }

            if (hardStateTerm != HardStateTerm)
            {
                return $"expected hard-state term {HardStateTerm}";
            }

            foreach (var entry in entries)
            {
                if (!Terms.TryGetValue(entry.Index, out var term) || entry.Term != term)
                {
                    return $"entry {entry.Index} has term {entry.Term}, expected {(Terms.TryGetValue(entry.Index, out var t) ? t : "none")}";
                }

                if (!entry.Data.Span.SequenceEqual(Payloads.For(entry.Index, term)))
                {
                    return $"entry {entry.Index} has the wrong payload";
                }
            }

            return null;
        }
    }
}
