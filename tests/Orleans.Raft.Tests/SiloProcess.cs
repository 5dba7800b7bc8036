using System.Diagnostics;
using System.Globalization;

namespace Orleans.Raft.Tests;

// One `ReplicatedCounter --silo N` child process (a real silo with its Raft node); its output is kept for failure reports.
public sealed class SiloProcess(int index, SiloPorts ports, string dataDirectory) : IAsyncDisposable
{
    private readonly List<string> _output = [];
    private Process? _process;

    public int Index => index;

    public string Name => $"silo{index}";

    public bool IsRunning => _process is { HasExited: false };

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

    public static string SampleDll
    {
        get
        {
            var baseDirectory = new DirectoryInfo(AppContext.BaseDirectory);
            var path = Path.GetFullPath(Path.Combine(
                AppContext.BaseDirectory, "..", "..", "..", "..", "..", "samples", "ReplicatedCounter", "bin",
                baseDirectory.Parent!.Name, baseDirectory.Name, "ReplicatedCounter.dll"));
            Assert.True(File.Exists(path), $"the ReplicatedCounter sample is not built at {path}");
            return path;
        }
    }

    // Starts the process and waits until the silo serves grains ("READY" on its output).
    public async Task StartAsync(TimeSpan timeout)
    {
        Assert.False(IsRunning, $"{Name} is already running");
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(SampleDll);
        foreach (var arg in new[]
        {
            "--silo", index.ToString(CultureInfo.InvariantCulture), "--data", dataDirectory,
            "--silo-ports", ports.Silo, "--gateway-ports", ports.Gateway, "--raft-ports", ports.Raft,
        })
        {
            start.ArgumentList.Add(arg);
        }

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => Record(e.Data, ready);
        process.ErrorDataReceived += (_, e) => Record(e.Data, ready);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;
        var first = await Task.WhenAny(ready.Task, process.WaitForExitAsync(), Task.Delay(timeout));
        Assert.True(first == ready.Task, $"{Name} did not become ready within {timeout}:{Environment.NewLine}{Output}");
    }

    // SIGKILL: no shutdown code runs, as in a crash.
    public async Task KillAsync()
    {
        if (Interlocked.Exchange(ref _process, null) is { } process)
        {
            Record($"--- SIGKILL at {DateTime.UtcNow:HH:mm:ss.fff}", null);
            process.Kill();
            await process.WaitForExitAsync();
            process.Dispose();
        }
    }

    public async ValueTask DisposeAsync() => await KillAsync();

    private void Record(string? line, TaskCompletionSource? ready)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add($"[{Name}] {line}");
        }

        if (line.StartsWith("READY ", StringComparison.Ordinal))
        {
            ready?.TrySetResult();
        }
    }
}

// Every silo's ports, as the comma-separated lists the sample takes.
public sealed record SiloPorts(string Silo, string Gateway, string Raft)
{
    public static SiloPorts Free(int silos, Func<int> freePort) => new(List(silos, freePort), List(silos, freePort), List(silos, freePort));

    public int[] GatewayPorts => [.. Gateway.Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture))];

    public string[] RaftEndpoints => [.. Raft.Split(',').Select(p => $"127.0.0.1:{p}")];

    private static string List(int count, Func<int> freePort) =>
        string.Join(',', Enumerable.Range(0, count).Select(_ => freePort().ToString(CultureInfo.InvariantCulture)));
}
