namespace Benchmarks.EventSourcing;

/// <summary>Event-sourced grains on 3 silos: Orleans.Raft's log-consistency provider vs Orleans' LogStorage over Raft grain storage.</summary>
internal sealed class EventSourcingMode : IBenchmarkMode
{
    public string Name => "eventsourcing";

    public string Description => "3 silos, JournaledGrain events/s by history length: Raft journal provider vs LogStorage over Raft storage";

    public async Task<int> RunAsync(string[] args)
    {
        EventSourcingBenchmarkSettings settings;
        try
        {
            if (args is ["--help" or "-h"])
            {
                Console.WriteLine(EventSourcingBenchmarkSettings.Usage);
                return 0;
            }

            settings = EventSourcingBenchmarkSettings.Parse(args);
        }
        catch (Exception ex) when (ex is ArgumentException or FormatException)
        {
            Console.Error.WriteLine(ex.Message);
            Console.Error.WriteLine(EventSourcingBenchmarkSettings.Usage);
            return 2;
        }

        return await EventSourcingBenchmark.RunAsync(settings);
    }
}
