namespace Benchmarks.Orleans;

/// <summary>Counter grains on 3 silos: Orleans.Raft grain storage against Orleans' in-memory storage, in the same run.</summary>
internal sealed class OrleansMode : IBenchmarkMode
{
    public string Name => "orleans";

    public string Description => "3 silos in one process, counter grain writes: Raft grain storage vs in-memory storage (see --help)";

    public async Task<int> RunAsync(string[] args)
    {
        OrleansBenchmarkSettings settings;
        try
        {
            if (args is ["--help" or "-h"])
            {
                Console.WriteLine(OrleansBenchmarkSettings.Usage);
                return 0;
            }

            settings = OrleansBenchmarkSettings.Parse(args);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(OrleansBenchmarkSettings.Usage);
            return 2;
        }

        return await OrleansBenchmark.RunAsync(settings);
    }
}
