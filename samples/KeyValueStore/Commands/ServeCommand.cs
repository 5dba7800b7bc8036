using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using KeyValueStore.Store;
using Raft.Core;
using Raft.Core.Runtime;
using Raft.Storage.Faster;
using Raft.Transport.Grpc;
using Raft.Transport.Grpc.Hosting;

namespace KeyValueStore.Commands;

/// <summary><c>serve</c>: runs one node until SIGINT/SIGTERM, with its log, hard state and snapshots in <c>--data</c>.</summary>
public static class ServeCommand
{
    /// <summary>Runs the node.</summary>
    /// <param name="args">The options.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(Arguments args)
    {
        var id = args.Require("id");
        var listen = args.Get("listen", "127.0.0.1:5001");
        var peers = Arguments.ParsePeers(args.Get("peers", ""));
        var data = args.Get("data", Path.Combine("data", id));
        var clusterId = args.Get("cluster-id", "kv");
        var tickMs = args.GetInt("tick-ms", 20);
        var level = Enum.TryParse<LogLevel>(args.Get("log-level", "Information"), ignoreCase: true, out var parsed) ? parsed : LogLevel.Information;

        using var loggerFactory = LoggerFactory.Create(b => b
            .AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            })
            .SetMinimumLevel(level)
            .AddFilter("Microsoft", LogLevel.Warning));

        await using var storage = await FasterRaftStorage.OpenAsync(data, loggerFactory: loggerFactory);
        var stateMachine = new KvStateMachine();
        var transport = new GrpcRaftTransport(
            new GrpcTransportOptions { ClusterId = clusterId, NodeId = id, ListenAddress = listen, Peers = peers },
            loggerFactory);
        var node = new RaftNode(
            new RaftNodeOptions
            {
                Raft = new RaftOptions
                {
                    Id = id,
                    Voters = [id, .. peers.Keys.Where(p => p != id)],

                    // FASTER pages are 4 MiB; keep every entry well inside one.
                    MaxEntrySize = 1024 * 1024,
                },
                TickInterval = TimeSpan.FromMilliseconds(tickMs),
            },
            storage.Log,
            storage.HardState,
            storage.Snapshots,
            transport,
            stateMachine,
            loggerFactory: loggerFactory);
        var server = new GrpcRaftServer(transport, node, loggerFactory, queryHandler: stateMachine);

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c =>
        {
            c.Cancel = true;
            stop.TrySetResult();
        });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            stop.TrySetResult();
        });

        await server.StartAsync();
        await node.StartAsync();

        // The line test harnesses and the cluster command wait for.
        Console.WriteLine($"READY {id} {server.Address}");
        await Task.WhenAny(stop.Task, node.Completion);

        var failed = node.Completion.IsFaulted;
        await node.StopAsync();
        await transport.DisposeAsync();
        await server.StopAsync();
        Console.WriteLine($"STOPPED {id}");
        return failed ? 1 : 0;
    }
}
