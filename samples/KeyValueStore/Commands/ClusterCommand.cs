using System.Diagnostics;

namespace KeyValueStore.Commands;

/// <summary><c>cluster</c>: starts a local three-node cluster as three <c>serve</c> processes and relays their output.</summary>
public static class ClusterCommand
{
    /// <summary>Runs the three nodes until Ctrl+C, then stops them.</summary>
    /// <param name="args">The options.</param>
    /// <returns>The exit code.</returns>
    public static async Task<int> RunAsync(Arguments args)
    {
        var basePort = args.GetInt("base-port", 5001);
        var dataRoot = args.Get("data", "data");
        var clusterId = args.Get("cluster-id", "kv");
        var ids = new[] { "n1", "n2", "n3" };
        var addresses = ids.Select((id, i) => (Id: id, Address: $"127.0.0.1:{basePort + i}")).ToArray();
        var processes = new List<Process>();
        foreach (var (id, address) in addresses)
        {
            var peers = string.Join(",", addresses.Where(a => a.Id != id).Select(a => $"{a.Id}={a.Address}"));
            var start = SelfStartInfo(
                "serve", "--id", id, "--listen", address, "--peers", peers, "--data", Path.Combine(dataRoot, id), "--cluster-id", clusterId,
                "--log-level", args.Get("log-level", "Information"));
            var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start node {id}.");
            process.OutputDataReceived += (_, e) => Relay(id, e.Data);
            process.ErrorDataReceived += (_, e) => Relay(id, e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            processes.Add(process);
        }

        Console.WriteLine($"Cluster '{clusterId}' starting: {string.Join(", ", addresses.Select(a => $"{a.Id} at {a.Address}"))}. Ctrl+C stops it.");
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.TrySetResult();
        };
        await Task.WhenAny(stop.Task, Task.WhenAll(processes.Select(p => p.WaitForExitAsync())));

        foreach (var process in processes.Where(p => !p.HasExited))
        {
            // SIGTERM: the node steps down (leadership transfer) and closes its storage.
            Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit();
        }

        foreach (var process in processes)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill();
            }

            process.Dispose();
        }

        return 0;
    }

    /// <summary>A start info that runs this same program with <paramref name="args"/>.</summary>
    /// <param name="args">The arguments.</param>
    /// <returns>The start info, with output redirected.</returns>
    public static ProcessStartInfo SelfStartInfo(params string[] args)
    {
        var host = Environment.ProcessPath ?? "dotnet";
        var start = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(host) == "dotnet")
        {
            start.ArgumentList.Add(typeof(ClusterCommand).Assembly.Location);
        }

        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    private static void Relay(string id, string? line)
    {
        if (line is not null)
        {
            Console.WriteLine($"[{id}] {line}");
        }
    }
}
