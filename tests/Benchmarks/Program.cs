using System.Reflection;
using System.Runtime;
using Benchmarks;

// The benchmark program (not a test): see docs/benchmarks.md for the commands and recorded results.
// The first argument picks a mode (an IBenchmarkMode, found by reflection); `inmemory` is the default.
var modes = typeof(IBenchmarkMode).Assembly.GetTypes()
    .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IBenchmarkMode).IsAssignableFrom(t))
    .Select(t => (IBenchmarkMode)Activator.CreateInstance(t)!)
    .OrderBy(m => m.Name, StringComparer.Ordinal)
    .ToDictionary(m => m.Name, StringComparer.Ordinal);

if (args.Length > 0 && args[0] is "help" or "--help" or "-h" && args.Length == 1)
{
    Console.WriteLine("usage: dotnet run -c Release --project tests/Benchmarks -- <mode> [options]   (mode --help for its options)");
    foreach (var m in modes.Values)
    {
        Console.WriteLine($"  {m.Name,-12} {m.Description}");
    }

    return 0;
}

var (name, rest) = args.Length > 0 && modes.ContainsKey(args[0]) ? (args[0], args[1..]) : ("inmemory", args);
if (args.Length > 0 && !args[0].StartsWith('-') && !modes.ContainsKey(args[0]))
{
    Console.Error.WriteLine($"Unknown benchmark mode '{args[0]}'; modes: {string.Join(", ", modes.Keys)}.");
    return 2;
}

Console.WriteLine($".NET {Environment.Version}, {Environment.ProcessorCount} cores, server GC {GCSettings.IsServerGC}, {GCSettings.LatencyMode}");
return await modes[name].RunAsync(rest);
