using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Benchmarks.Grpc;

/// <summary>
/// Three (or N) <c>KeyValueStore serve</c> processes on loopback: real gRPC transport, real FASTER log, hard-state and
/// snapshot files in a fresh data directory each. Disposing kills them and deletes the data.
/// </summary>
internal sealed class NodeCluster : IAsyncDisposable
{
    private readonly List<Process> _processes = [];
    private readonly List<string> _output = [];

    private NodeCluster(string root, string clusterId)
    {
        Root = root;
        ClusterId = clusterId;
    }

    public string Root { get; }

    public string ClusterId { get; }

    public List<string> Endpoints { get; } = [];

    public IReadOnlyList<Process> Processes => _processes;

    /// <summary>The sample's assembly, built beside this program (the project reference builds it).</summary>
    public static string SampleDll
    {
        get
        {
            var baseDirectory = new DirectoryInfo(AppContext.BaseDirectory);
            var path = Path.GetFullPath(Path.Combine(
                AppContext.BaseDirectory, "..", "..", "..", "..", "..", "samples", "KeyValueStore", "bin",
                baseDirectory.Parent!.Name, baseDirectory.Name, "KeyValueStore.dll"));
            return File.Exists(path) ? path : throw new FileNotFoundException($"The KeyValueStore sample is not built at {path}; build tests/Benchmarks in Release.");
        }
    }

    public static async Task<NodeCluster> StartAsync(string root, int nodes, int tickMilliseconds)
    {
        var cluster = new NodeCluster(root, "bench");
        var ports = Enumerable.Range(0, nodes).Select(_ => FreePort()).ToArray();
        var ids = Enumerable.Range(1, nodes).Select(i => $"n{i}").ToArray();
        var peers = string.Join(",", ids.Select((id, i) => string.Create(CultureInfo.InvariantCulture, $"{id}=127.0.0.1:{ports[i]}")));
        var ready = new List<Task>();
        try
        {
            for (var i = 0; i < nodes; i++)
            {
                var endpoint = string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:{ports[i]}");
                cluster.Endpoints.Add(endpoint);
                ready.Add(cluster.StartNode(ids[i], endpoint, peers, Path.Combine(root, ids[i]), tickMilliseconds));
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

    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join(Environment.NewLine, _output.TakeLast(40));
            }
        }
    }

    /// <summary>User + system CPU time of each node process so far, in node order.</summary>
    public TimeSpan[] NodesCpuTime()
    {
        var times = new TimeSpan[_processes.Count];
        for (var i = 0; i < times.Length; i++)
        {
            _processes[i].Refresh();
            times[i] = _processes[i].TotalProcessorTime;
        }

        return times;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            try
            {
                process.Kill();
                await process.WaitForExitAsync();
            }
            catch (InvalidOperationException)
            {
                // Exited already.
            }

            process.Dispose();
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

    private Task StartNode(string id, string endpoint, string peers, string data, int tickMilliseconds)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(SampleDll);
        foreach (var arg in new[]
        {
            "serve", "--id", id, "--listen", endpoint, "--data", data, "--cluster-id", ClusterId, "--log-level", "Warning",
            "--tick-ms", tickMilliseconds.ToString(CultureInfo.InvariantCulture), "--peers", peers,
        })
        {
            start.ArgumentList.Add(arg);
        }

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = Process.Start(start)!;
        _processes.Add(process);
        process.OutputDataReceived += (_, e) => Record(id, e.Data, ready);
        process.ErrorDataReceived += (_, e) => Record(id, e.Data, ready);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _ = process.WaitForExitAsync().ContinueWith(_ => ready.TrySetException(new IOException($"node {id} exited:\n{Output}")), TaskScheduler.Default);
        return ready.Task;
    }

    private void Record(string id, string? line, TaskCompletionSource ready)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add($"[{id}] {line}");
        }

        if (line.StartsWith("READY ", StringComparison.Ordinal))
        {
            ready.TrySetResult();
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
