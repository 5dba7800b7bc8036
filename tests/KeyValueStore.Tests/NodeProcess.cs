using System.Globalization;
using Raft.Testing.Processes;

namespace KeyValueStore.Tests;

// One `KeyValueStore serve` node, started (and restarted) as a child process; its output is kept for failure reports.
public sealed class NodeProcess(string id, int port, IReadOnlyDictionary<string, int> peers, string dataDirectory) : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(60);
    private readonly List<string> _earlierOutput = [];
    private SampleProcess? _process;

    public string Id => id;

    public int Port => port;

    public string Endpoint => $"127.0.0.1:{Port}";

    public IReadOnlyDictionary<string, int> Peers => peers;

    public string DataDirectory => dataDirectory;

    public bool IsRunning => _process is { IsRunning: true };

    public string Output => string.Join(Environment.NewLine, _earlierOutput.Append(_process?.Output(60) ?? ""));

    public async Task StartAsync()
    {
        _process = SampleProcess.Start("KeyValueStore", Id,
        [
            "serve", "--id", Id, "--listen", Endpoint, "--data", DataDirectory, "--cluster-id", "kv-test", "--log-level", "Warning",
            "--peers", string.Join(",", Peers.Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key}=127.0.0.1:{p.Value}"))),
        ]);
        var first = await Task.WhenAny(_process.Ready, Task.Delay(StartTimeout));
        Assert.True(first == _process.Ready && _process.Ready.IsCompletedSuccessfully, $"node {Id} did not become ready:{Environment.NewLine}{Output}");
    }

    // SIGKILL: no shutdown code runs, as in a crash.
    public async Task KillAsync()
    {
        if (Interlocked.Exchange(ref _process, null) is { } process)
        {
            await process.KillAsync();
            _earlierOutput.Add(process.Output(60));
        }
    }

    public async ValueTask DisposeAsync() => await KillAsync();
}
