using System.Diagnostics;
using System.Globalization;
using Raft.Testing.Processes;

namespace Benchmarks.DotNext;

/// <summary>
/// Three <c>Benchmarks.DotNext</c> node processes on loopback (DotNext's TCP transport, its write-ahead log in a fresh
/// data directory each): the baseline cluster, shaped like <see cref="Grpc.NodeCluster"/>. Disposing kills them and
/// deletes the data.
/// </summary>
internal sealed class DotNextCluster : IAsyncDisposable
{
    private readonly List<SampleProcess> _nodes = [];

    private DotNextCluster(string root) => Root = root;

    public string Root { get; }

    public List<string> Endpoints { get; } = [];

    public IReadOnlyList<SampleProcess> Nodes => _nodes;

    /// <summary>The node program, built beside this one by the project reference (same configuration and framework).</summary>
    public static string NodeDll
    {
        get
        {
            var baseDirectory = new DirectoryInfo(AppContext.BaseDirectory);
            var path = Path.GetFullPath(Path.Combine(
                AppContext.BaseDirectory, "..", "..", "..", "..", "Benchmarks.DotNext", "bin",
                baseDirectory.Parent!.Name, baseDirectory.Name, "Benchmarks.DotNext.dll"));
            return File.Exists(path) ? path : throw new FileNotFoundException($"The DotNext node is not built at {path}; build tests/Benchmarks in the same configuration.", path);
        }
    }

    public static async Task<DotNextCluster> StartAsync(string root, int nodes, string wal, string logLevel)
    {
        var cluster = new DotNextCluster(root);
        var ports = Enumerable.Range(0, nodes).Select(_ => FreePorts.Next()).ToArray();
        var members = string.Join(",", ports.Select(p => string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{p}")));
        try
        {
            for (var i = 0; i < nodes; i++)
            {
                var endpoint = string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{ports[i]}");
                cluster.Endpoints.Add(endpoint);
                cluster._nodes.Add(SampleProcess.StartProgram(
                    NodeDll,
                    $"d{i + 1}",
                    ["--listen", endpoint, "--members", members, "--data", Path.Combine(root, $"d{i + 1}"), "--wal", wal, "--log-level", logLevel],
                    standardInput: true));
            }

            var all = Task.WhenAll(cluster._nodes.Select(n => n.Ready));
            if (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(60))) != all)
            {
                throw new TimeoutException("The DotNext nodes did not start within 60 s:\n" + cluster.OutputLines(40));
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

    /// <summary>Each node's last <paramref name="lines"/> lines of output.</summary>
    public string OutputLines(int lines) => string.Join(Environment.NewLine, _nodes.Select(n => n.Output(lines)));

    /// <summary>User + system CPU time of each node process so far, in node order.</summary>
    public TimeSpan[] NodesCpuTime() => MachineReadings.CpuTimes(_nodes.Select(n => n.Process));

    /// <summary>The node that says it leads (its index), and its term; waits up to 30 s for one.</summary>
    public async Task<(int Index, long Term)> FindLeaderAsync()
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            for (var i = 0; i < _nodes.Count; i++)
            {
                // STATUS <leader|follower> <term> <leader endpoint>
                var status = (await _nodes[i].AskAsync("status", "STATUS ")).Split(' ');
                if (status[1] == "leader")
                {
                    return (i, long.Parse(status[2], CultureInfo.InvariantCulture));
                }
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("No DotNext leader within 30 s:\n" + OutputLines(40));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
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
}
