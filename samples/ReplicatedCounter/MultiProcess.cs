using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;

namespace ReplicatedCounter;

// One silo per process, for a real multi-process cluster on this machine:
//   --silo 0|1|2 [--data DIR]   runs silo N until Ctrl+C (Orleans port 11111+N, gateway 30000+N, Raft gRPC 7001+N)
//   --client [--count K]        increments 16 counters K times each through the gateways, then prints them
// Orleans membership uses development clustering here (silo 0 is its primary), so this mode shows Raft replication
// across processes; the in-process default run shows losing any silo, the leader's included.
internal static class MultiProcess
{
    private const int Silos = 3;
    private const string ServiceId = "replicated-counter";
    private const string ClusterId = "replicated-counter";

    public static async Task<int> RunSiloAsync(int index, string dataDirectory)
    {
        if (index is < 0 or >= Silos)
        {
            Console.Error.WriteLine($"--silo takes 0, 1 or 2 (was {index}).");
            return 2;
        }

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Orleans.Raft", LogLevel.Information)
            .AddFilter("Orleans.Runtime.Silo", LogLevel.Error).AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error);
        builder.UseOrleans(silo =>
        {
            silo.UseLocalhostClustering(11111 + index, 30000 + index, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 11111), ServiceId, ClusterId);
            silo.Configure<SiloOptions>(o => o.SiloName = $"silo{index}");
            silo.AddRaftGrainStorage("raft", (RaftGrainStorageOptions o) =>
            {
                o.DataDirectory = dataDirectory;
                for (var i = 0; i < Silos; i++)
                {
                    o.Members[$"silo{i}"] = $"127.0.0.1:{(7001 + i).ToString(CultureInfo.InvariantCulture)}";
                }
            });
        });
        Console.WriteLine($"silo{index}: Raft data in {Path.Combine(dataDirectory, $"silo{index}")}; Ctrl+C stops it");
        await builder.Build().RunAsync();
        return 0;
    }

    public static async Task<int> RunClientAsync(int count)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Error);
        builder.UseOrleansClient(client => client.UseLocalhostClustering([30000, 30001, 30002], ServiceId, ClusterId));
        using var host = builder.Build();
        await host.StartAsync();
        var grains = host.Services.GetService(typeof(IClusterClient)) as IClusterClient ?? throw new InvalidOperationException("No cluster client.");
        await Task.WhenAll(Enumerable.Range(0, 16).Select(async i =>
        {
            var counter = grains.GetGrain<ICounterGrain>($"counter-{i}");
            for (var k = 0; k < count; k++)
            {
                await counter.Increment();
            }
        }));

        for (var i = 0; i < 16; i++)
        {
            Console.WriteLine($"counter-{i}: {await grains.GetGrain<ICounterGrain>($"counter-{i}").ReadStored()}");
        }

        await host.StopAsync();
        return 0;
    }
}
