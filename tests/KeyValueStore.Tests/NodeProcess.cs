using System.Diagnostics;
using System.Globalization;

namespace KeyValueStore.Tests;

// One `KeyValueStore serve` child process; its output is kept for failure reports.
public sealed class NodeProcess : IAsyncDisposable
{
    private readonly List<string> _output = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Process? _process;

    public NodeProcess(string id, int port, IReadOnlyDictionary<string, int> peers, string dataDirectory)
    {
        Id = id;
        Port = port;
        Peers = peers;
        DataDirectory = dataDirectory;
    }

    public string Id { get; }

    public int Port { get; }

    public string Endpoint => $"127.0.0.1:{Port}";

    public IReadOnlyDictionary<string, int> Peers { get; }

    public string DataDirectory { get; }

    public bool IsRunning => _process is { HasExited: false };

    public string Output
    {
        get
        {
            lock (_output)
            {
                return string.Join(Environment.NewLine, _output.TakeLast(60));
            }
        }
    }

    public static string SampleDll
    {
        get
        {
            var baseDirectory = new DirectoryInfo(AppContext.BaseDirectory);
            var path = Path.GetFullPath(Path.Combine(
                AppContext.BaseDirectory, "..", "..", "..", "..", "..", "samples", "KeyValueStore", "bin",
                baseDirectory.Parent!.Name, baseDirectory.Name, "KeyValueStore.dll"));
            Assert.True(File.Exists(path), $"the KeyValueStore sample is not built at {path}");
            return path;
        }
    }

    public async Task StartAsync()
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
            "serve", "--id", Id, "--listen", Endpoint, "--data", DataDirectory, "--cluster-id", "kv-test", "--log-level", "Warning",
            "--peers", string.Join(",", Peers.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}=127.0.0.1:{p.Value}"))),
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
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(ready.Task, exited, Task.Delay(TimeSpan.FromSeconds(60)));
        Assert.True(first == ready.Task, $"node {Id} did not become ready:{Environment.NewLine}{Output}");
    }

    // SIGKILL: no shutdown code runs, as in a crash.
    public async Task KillAsync()
    {
        if (_process is { } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
            process.Dispose();
            _process = null;
        }
    }

    public async ValueTask DisposeAsync() => await KillAsync();

    private void Record(string? line, TaskCompletionSource ready)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.Add($"[{Id}] {line}");
        }

        if (line.StartsWith("READY ", StringComparison.Ordinal))
        {
            ready.TrySetResult();
        }
    }
}
