namespace Benchmarks;

/// <summary>What to run, parsed from the command line.</summary>
internal sealed record BenchmarkSettings
{
    public string Mode { get; init; } = "inmemory";

    public int Concurrency { get; init; } = 256;

    public int Payload { get; init; } = 64;

    public int Seconds { get; init; } = 10;

    public int WarmupSeconds { get; init; } = 3;

    public int Nodes { get; init; } = 3;

    public int TickMilliseconds { get; init; } = 50;

    public bool Matrix { get; init; }

    public bool AllocationProfile { get; init; }

    public const string Usage = """
        usage: dotnet run -c Release --project tests/Benchmarks -- inmemory [options]
          --concurrency C   concurrent proposers against the leader (default 256)
          --payload P       command size in bytes (default 64)
          --seconds S       measured seconds, after the warm-up (default 10)
          --warmup W        warm-up seconds (default 3)
          --nodes N         cluster size (default 3)
          --tick MS         tick interval in ms (default 50)
          --matrix          run C = 1, 16, 256 x P = 64, 1024 and print a markdown table
          --alloc-profile   sample allocations by type during the measurement and print the top ones
        """;

    public static BenchmarkSettings Parse(string[] args)
    {
        var settings = new BenchmarkSettings();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            settings = arg switch
            {
                "inmemory" => settings with { Mode = arg },
                "--concurrency" or "-c" => settings with { Concurrency = ModeArguments.Int(args, ++i) },
                "--payload" or "-p" => settings with { Payload = ModeArguments.Int(args, ++i) },
                "--seconds" or "-s" => settings with { Seconds = ModeArguments.Int(args, ++i) },
                "--warmup" => settings with { WarmupSeconds = ModeArguments.Int(args, ++i) },
                "--nodes" => settings with { Nodes = ModeArguments.Int(args, ++i) },
                "--tick" => settings with { TickMilliseconds = ModeArguments.Int(args, ++i) },
                "--matrix" => settings with { Matrix = true },
                "--alloc-profile" => settings with { AllocationProfile = true },
                _ => throw new ArgumentException($"Unknown argument '{arg}'."),
            };
        }

        if (settings.Concurrency < 1 || settings.Payload < 0 || settings.Seconds < 1 || settings.WarmupSeconds < 0 || settings.Nodes < 1 || settings.TickMilliseconds < 1)
        {
            throw new ArgumentException("Out-of-range argument.");
        }

        return settings;
    }
}
