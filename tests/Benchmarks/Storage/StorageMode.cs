namespace Benchmarks.Storage;

/// <summary>The FASTER log store against raw pwrite + fdatasync, measured in the same run.</summary>
internal sealed class StorageMode : IBenchmarkMode
{
    public string Name => "storage";

    public string Description => "FASTER log store vs raw pwrite+fdatasync (append batches, single-entry latency, recovery)";

    public Task<int> RunAsync(string[] args) => StorageBenchmark.RunAsync(["storage", .. args]);
}
