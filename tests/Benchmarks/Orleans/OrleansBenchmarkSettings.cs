namespace Benchmarks.Orleans;

/// <summary>The <c>orleans</c> mode's command line.</summary>
internal sealed record OrleansBenchmarkSettings
{
    public int Grains { get; init; } = 1000;

    public int Concurrency { get; init; } = 64;

    public int Seconds { get; init; } = 10;

    public int WarmupSeconds { get; init; } = 3;

    public int Rounds { get; init; } = 3;

    public int WarmupRoundSeconds { get; init; } = 10;

    // Three by default: Orleans places the in-memory baseline's counters and storage grains at random in every cluster,
    // and the baseline's throughput followed that placement in session 21 (20,200 to 29,400 writes/s between runs as
    // the share of counters beside their storage grain went from 0.29 to 0.88; docs/benchmarks.md).
    public int Clusters { get; init; } = 3;

    public bool InMemoryNetwork { get; init; }

    // gRPC between the silos' Raft nodes with mutual TLS (a certificate per silo, from a CA made for the run).
    public bool Tls { get; init; }

    public long? SnapshotEntryThreshold { get; init; }

    public string Providers { get; init; } = "both";

    public string RaftPlacement { get; init; } = "default";

    public const string Usage = """
        usage: dotnet run -c Release --project tests/Benchmarks -- orleans [options]
          --grains G        counter grains (default 1000)
          --concurrency C   concurrent callers (default 64)
          --seconds S       measured seconds per round and provider (default 10)
          --warmup W        warm-up seconds before each measurement (default 3)
          --warmup-round S  an unmeasured round of S seconds per provider before the measured ones (default 10; 0: none)
          --rounds R        measured rounds; each measures every provider once, alternating; the median is reported (default 3)
          --clusters K      repeat everything on K fresh clusters (Orleans places the grains anew in each); the medians
                            are over all rounds of all clusters, and each cluster's ratio is shown too (default 3)
          --providers P     both | raft | memory (default both)
          --raft-network N  grpc (default: the provider's production network) | inmemory (diagnosis: no gRPC)
          --raft-tls        mutual TLS between the silos' Raft endpoints, each silo its own certificate (forwarded
                            writes then go as one unary call each to the leader's client service)
          --snapshot-threshold E  the provider's SnapshotEntryThreshold (default: the provider's default)
          --raft-placement P  where the Raft counters activate: default (Orleans' default placement, as for the
                            in-memory counters; 2 of 3 on follower silos, whose writes are forwarded) | leader
                            ([RaftLeaderPlacement]: all on the Raft leader's silo, writes proposed there directly)
        """;

    public static OrleansBenchmarkSettings Parse(string[] args)
    {
        var settings = new OrleansBenchmarkSettings();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            settings = arg switch
            {
                "--grains" => settings with { Grains = ModeArguments.Int(args, ++i) },
                "--concurrency" or "-c" => settings with { Concurrency = ModeArguments.Int(args, ++i) },
                "--seconds" or "-s" => settings with { Seconds = ModeArguments.Int(args, ++i) },
                "--warmup" => settings with { WarmupSeconds = ModeArguments.Int(args, ++i) },
                "--rounds" => settings with { Rounds = ModeArguments.Int(args, ++i) },
                "--clusters" => settings with { Clusters = ModeArguments.Int(args, ++i) },
                "--warmup-round" => settings with { WarmupRoundSeconds = ModeArguments.Int(args, ++i) },
                "--providers" => settings with { Providers = ModeArguments.OneOf(args, ++i, "both", "raft", "memory") },
                "--snapshot-threshold" => settings with { SnapshotEntryThreshold = ModeArguments.Int(args, ++i) },
                "--raft-placement" => settings with { RaftPlacement = ModeArguments.OneOf(args, ++i, "default", "leader") },
                "--raft-tls" => settings with { Tls = true },
                "--raft-network" => settings with { InMemoryNetwork = ModeArguments.OneOf(args, ++i, "grpc", "inmemory") == "inmemory" },
                _ => throw new ArgumentException($"Unknown argument '{arg}'."),
            };
        }

        if (settings.Tls && settings.InMemoryNetwork)
        {
            throw new ArgumentException("--raft-tls needs the gRPC network.");
        }

        if (settings.Grains < 1 || settings.Concurrency < 1 || settings.Seconds < 1 || settings.WarmupSeconds < 0 || settings.Rounds < 1 || settings.Clusters < 1 || settings.WarmupRoundSeconds < 0 || settings.SnapshotEntryThreshold < 0)
        {
            throw new ArgumentException("Out-of-range argument.");
        }

        return settings;
    }
}
