using System.Globalization;

namespace Benchmarks.DotNext;

/// <summary>
/// The baseline for issue 4's throughput target: DotNext's Raft (DotNext.Net.Cluster 6.12, three node processes,
/// TCP, its durable WriteAheadLog) doing the grpc benchmark's job on the same machine, so the target ("about twice the
/// best .NET Raft library we measured") is a ratio measured in one run, not against a number from another day.
/// </summary>
internal sealed class DotNextMode : IBenchmarkMode
{
    private const string Usage = """
        usage: dotnet run -c Release --project tests/Benchmarks -- dotnext [options]
          --concurrency C    C concurrent writers in the leader's process (default 256) ...
          --payload P        ... of P-byte puts (default 64)
          --seconds S        measured seconds (default 10)
          --warmup W         warm-up seconds (default 3)
          --wal M            the WriteAheadLog's pages: shared (default, as DotNext's; mmap + msync), private (O_DSYNC writes), direct (O_DIRECT)
          --node-log-level L the nodes' log level (default Warning); a run whose leader changed prints their last lines
        Followers acknowledge entries before they are on disk (DotNext's design; the leader syncs before it commits):
        see tests/Benchmarks.DotNext/WalOptions.cs. To compare with ours in one run: grpc --baseline dotnext.
        """;

    public string Name => "dotnext";

    public string Description => "baseline: 3 DotNext Raft node processes (TCP, WriteAheadLog), load inside the leader (see --help)";

    public async Task<int> RunAsync(string[] args)
    {
        var concurrency = 256;
        var payload = 64;
        var seconds = 10;
        var warmup = 3;
        var wal = "shared";
        var nodeLogLevel = "Warning";
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                switch (args[i])
                {
                    case "--concurrency" or "-c": concurrency = ModeArguments.Int(args, ++i); break;
                    case "--payload" or "-p": payload = ModeArguments.Int(args, ++i); break;
                    case "--seconds" or "-s": seconds = ModeArguments.Int(args, ++i); break;
                    case "--warmup": warmup = ModeArguments.Int(args, ++i); break;
                    case "--wal": wal = ModeArguments.OneOf(args, ++i, "private", "shared", "direct"); break;
                    case "--node-log-level": nodeLogLevel = i + 1 < args.Length ? args[++i] : throw new ArgumentException("--node-log-level needs a level."); break;
                    case "--help" or "-h":
                        Console.WriteLine(Usage);
                        return 0;
                    default: throw new ArgumentException($"Unknown argument '{args[i]}'.");
                }
            }

            if (concurrency < 1 || payload < 16 || seconds < 1 || warmup < 0)
            {
                throw new ArgumentException("Out-of-range argument: concurrency ≥ 1, payload ≥ 16, seconds ≥ 1, warmup ≥ 0.");
            }
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        Console.WriteLine($"node: {DotNextCluster.NodeDll}");
        var result = await DotNextRun.RunOneAsync(concurrency, payload, seconds, warmup, wal, nodeLogLevel);
        Console.WriteLine(result.Describe());
        Console.WriteLine();
        Console.WriteLine(DotNextResult.MarkdownHeader);
        Console.WriteLine(result.ToMarkdownRow());
        return 0;
    }
}
