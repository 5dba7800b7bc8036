using System.Globalization;
using Raft.Testing.Processes;

namespace Benchmarks.Grpc;

/// <summary>
/// Three (or N) <c>KeyValueStore serve</c> processes on loopback: real gRPC transport, real FASTER log, hard-state and
/// snapshot files in a fresh data directory each. Disposing kills them and deletes the data.
/// </summary>
internal sealed class NodeCluster : IAsyncDisposable
{
    private readonly List<SampleProcess> _nodes = [];

    private NodeCluster(string root, string clusterId)
    {
        Root = root;
        ClusterId = clusterId;
    }

    public string Root { get; }

    public string ClusterId { get; }

    public List<string> Endpoints { get; } = [];

    /// <summary>The sample's assembly, built beside this program (the project reference builds it).</summary>
    public static string SampleDll => SampleProcess.SampleDll("KeyValueStore");

    public static async Task<NodeCluster> StartAsync(string root, int nodes, int tickMilliseconds, string logLevel = "Warning")
    {
        var cluster = new NodeCluster(root, "bench");
        var ports = Enumerable.Range(0, nodes).Select(_ => FreePorts.Next()).ToArray();
        var ids = Enumerable.Range(1, nodes).Select(i => $"n{i}").ToArray();
        var peers = string.Join(",", ids.Select((id, i) => string.Create(CultureInfo.InvariantCulture, $"{id}=127.0.0.1:{ports[i]}")));
        var ready = new List<Task>();
        try
        {
            for (var i = 0; i < nodes; i++)
            {
                var endpoint = string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{ports[i]}");
                cluster.Endpoints.Add(endpoint);
                ready.Add(cluster.StartNode(ids[i], endpoint, peers, Path.Combine(root, ids[i]), tickMilliseconds, logLevel));
            }

            var all = Task.WhenAll(ready);
            if (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(60))) != all)
            {
                throw new TimeoutException("The nodes did not start within 60 s:\n" + cluster.Output);
            }

            await all;
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    public string Output => OutputLines(40);

    /// <summary>Each node's last <paramref name="lines"/> lines of output.</summary>
    public string OutputLines(int lines) => string.Join(Environment.NewLine, _nodes.Select(n => n.Output(lines)));

    /// <summary>User + system CPU time of each node process so far, in node order.</summary>
    public TimeSpan[] NodesCpuTime() => MachineReadings.CpuTimes(_nodes.Select(n => n.Process));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.KillAsync();
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort; the directory is under the temporary folder.
        }
    }

    private Task StartNode(string id, string endpoint, string peers, string data, int tickMilliseconds, string logLevel)
    {
        var node = SampleProcess.Start("KeyValueStore", id,
        [
            "serve", "--id", id, "--listen", endpoint, "--data", data, "--cluster-id", ClusterId, "--log-level", logLevel,
            "--tick-ms", tickMilliseconds.ToString(CultureInfo.InvariantCulture), "--peers", peers,
        ]);
        _nodes.Add(node);
        return node.Ready;
    }
}
