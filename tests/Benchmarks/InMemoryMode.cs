namespace Benchmarks;

/// <summary>The 3-node in-process cluster (in-memory log, transport and state machine): the runtime's ceiling.</summary>
internal sealed class InMemoryMode : IBenchmarkMode
{
    public string Name => "inmemory";

    public string Description => "3 RaftNodes in one process on in-memory stores and transport (see --help)";

    public async Task<int> RunAsync(string[] args)
    {
        BenchmarkSettings settings;
        try
        {
            settings = BenchmarkSettings.Parse(["inmemory", .. args]);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(BenchmarkSettings.Usage);
            return 2;
        }

        if (!settings.Matrix)
        {
            Console.WriteLine(await InMemoryClusterBenchmark.RunAsync(settings));
            return 0;
        }

        var rows = new List<string>();
        foreach (var payload in new[] { 64, 1024 })
        {
            foreach (var concurrency in new[] { 1, 16, 256 })
            {
                var result = await InMemoryClusterBenchmark.RunAsync(settings with { Concurrency = concurrency, Payload = payload });
                Console.WriteLine(result);
                rows.Add(result.ToMarkdownRow());
            }
        }

        Console.WriteLine();
        Console.WriteLine(BenchmarkResult.MarkdownHeader);
        rows.ForEach(Console.WriteLine);
        return 0;
    }
}
