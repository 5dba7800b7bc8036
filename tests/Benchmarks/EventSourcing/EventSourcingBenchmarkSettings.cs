using System.Globalization;

namespace Benchmarks.EventSourcing;

/// <summary>What the <c>eventsourcing</c> mode runs, parsed from the command line.</summary>
internal sealed record EventSourcingBenchmarkSettings
{
    public IReadOnlyList<long> Histories { get; init; } = [10, 1_000, 20_000, 100_000];

    public int Grains { get; init; } = 8;

    public int Concurrency { get; init; } = 16;

    public int Seconds { get; init; } = 5;

    public int WarmupSeconds { get; init; } = 1;

    public int SnapshotInterval { get; init; } = 100;

    public int Rounds { get; init; } = 3;

    public long LogStorageMaxHistory { get; init; } = 20_000;

    public const string Usage = """
        usage: dotnet run -c Release --project tests/Benchmarks -- eventsourcing [options]
          --histories H,H,..  events per grain before measuring (default 10,1000,20000,100000)
          --grains G          grains per provider and history (default 8; LogStorage uses at most 2 from 10,000 events on)
          --concurrency C     concurrent callers (default 16)
          --seconds S         measured seconds per cell (default 5)
          --warmup W          warm-up seconds per cell (default 1)
          --snapshot N        the Raft provider's SnapshotInterval (default 100)
          --rounds R          alternating measured rounds per history; the median is reported (default 3)
          --logstorage-max H  longest history LogStorage is run at (default 20000; at 100000 its writes time out)
        """;

    public static EventSourcingBenchmarkSettings Parse(string[] args)
    {
        var settings = new EventSourcingBenchmarkSettings();
        for (var i = 0; i < args.Length; i++)
        {
            settings = args[i] switch
            {
                "--histories" => settings with { Histories = [.. Value(args, ++i).Split(',').Select(h => long.Parse(h, NumberStyles.Integer, CultureInfo.InvariantCulture))] },
                "--grains" => settings with { Grains = ModeArguments.Int(args, ++i) },
                "--concurrency" or "-c" => settings with { Concurrency = ModeArguments.Int(args, ++i) },
                "--seconds" or "-s" => settings with { Seconds = ModeArguments.Int(args, ++i) },
                "--warmup" => settings with { WarmupSeconds = ModeArguments.Int(args, ++i) },
                "--snapshot" => settings with { SnapshotInterval = ModeArguments.Int(args, ++i) },
                "--rounds" => settings with { Rounds = ModeArguments.Int(args, ++i) },
                "--logstorage-max" => settings with { LogStorageMaxHistory = ModeArguments.Int(args, ++i) },
                _ => throw new ArgumentException($"Unknown argument '{args[i]}'."),
            };
        }

        if (settings.Grains < 1 || settings.Rounds < 1 || settings.Concurrency < 1 || settings.Seconds < 1 || settings.WarmupSeconds < 0 || settings.SnapshotInterval < 0
            || settings.Histories.Count == 0 || settings.Histories.Any(h => h < 0))
        {
            throw new ArgumentException("Out-of-range argument.");
        }

        return settings;
    }

    private static string Value(string[] args, int i) => i < args.Length ? args[i] : throw new ArgumentException($"'{args[i - 1]}' needs a value.");
}
