using System.Runtime;
using Benchmarks;

// The benchmark program (not a test): see docs/benchmarks.md for the commands and recorded results.
// Modes: `inmemory` (3-node in-process cluster, the default) and `storage` (FASTER log store vs raw fdatasync).
if (args.Length > 0 && args[0] == "storage")
{
    return await Benchmarks.Storage.StorageBenchmark.RunAsync(args);
}

BenchmarkSettings settings;
try
{
    settings = BenchmarkSettings.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cores, server GC {GCSettings.IsServerGC}, {(GCSettings.LatencyMode)}");
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
