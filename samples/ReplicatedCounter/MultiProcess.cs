using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Raft.Storage;
using Orleans.Storage;

namespace ReplicatedCounter;

// One silo per process, for a real multi-process cluster on this machine:
//   --silo N [--data DIR] [--silo-ports P0,P1,P2] [--gateway-ports G0,G1,G2] [--raft-ports R0,R1,R2]
//       runs silo N until Ctrl+C (or SIGTERM); defaults: Orleans port 11111+N, gateway 30000+N, Raft gRPC 7001+N.
//       Prints "READY silo<N>" once it serves grains. Orleans membership is a file in DIR shared by the silos, so any
//       of them may die, even by SIGKILL.
//   --client [--count K] [--gateway-ports G0,G1,G2]
//       increments 16 counters K times each through the gateways, then prints them.
internal static class MultiProcess
{
    public const string ServiceId = "replicated-counter";
    public const string ClusterId = "replicated-counter";
    private const int Silos = 3;

    public static async Task<int> RunSiloAsync(int index, string[] args)
    {
        if (index is < 0 or >= Silos)
        {
            Console.Error.WriteLine($"--silo takes 0, 1 or 2 (was {index}).");
            return 2;
        }

        var dataDirectory = Option(args, "--data") ?? Path.Combine(Environment.CurrentDirectory, "replicated-counter-data");
        var siloPorts = Ports(args, "--silo-ports", 11111);
        var gatewayPorts = Ports(args, "--gateway-ports", 30000);
        var raftPorts = Ports(args, "--raft-ports", 7001);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Orleans.Raft", LogLevel.Information)
            .AddFilter("Orleans.Runtime.Silo", LogLevel.Error).AddFilter("Orleans.Runtime.Watchdog", LogLevel.Error);
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o => (o.ServiceId, o.ClusterId) = (ServiceId, ClusterId));
            silo.Configure<SiloOptions>(o => o.SiloName = $"silo{index}");
            silo.ConfigureEndpoints(IPAddress.Loopback, siloPorts[index], gatewayPorts[index]);
            silo.Services.AddSingleton<IMembershipTable>(new FileMembershipTable(Path.Combine(dataDirectory, "orleans-membership")));
            silo.AddRaftGrainStorage("raft", (RaftGrainStorageOptions o) =>
            {
                o.DataDirectory = dataDirectory;
                for (var i = 0; i < Silos; i++)
                {
                    o.Members[$"silo{i}"] = $"127.0.0.1:{raftPorts[i].ToString(CultureInfo.InvariantCulture)}";
                }
            });
        });
        using var host = builder.Build();
        Console.WriteLine($"silo{index}: Raft data in {Path.Combine(dataDirectory, $"silo{index}")}; Ctrl+C stops it");
        await host.StartAsync();
        var storage = (RaftGrainStorage)host.Services.GetRequiredKeyedService<IGrainStorage>("raft");
        Console.WriteLine($"READY silo{index} raft={storage.NodeId}");
        await host.WaitForShutdownAsync();
        return 0;
    }

    public static async Task<int> RunClientAsync(string[] args)
    {
        var count = int.Parse(Option(args, "--count") ?? "10", CultureInfo.InvariantCulture);
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Error);
        builder.UseOrleansClient(client => client.UseLocalhostClustering(Ports(args, "--gateway-ports", 30000), ServiceId, ClusterId));
        using var host = builder.Build();
        await host.StartAsync();
        var grains = host.Services.GetRequiredService<IClusterClient>();
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
            var counter = grains.GetGrain<ICounterGrain>($"counter-{i}");
            Console.WriteLine($"counter-{i}: {await counter.ReadStored()} (on {await counter.SiloName()})");
        }

        await host.StopAsync();
        return 0;
    }

    public static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    private static int[] Ports(string[] args, string name, int first)
    {
        if (Option(args, name) is not { } text)
        {
            return [.. Enumerable.Range(first, Silos)];
        }

        var ports = text.Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        return ports.Length == Silos ? ports : throw new ArgumentException($"{name} takes {Silos} comma-separated ports (was '{text}').");
    }
}
