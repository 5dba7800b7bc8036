using System.Globalization;
using Raft.Testing.Processes;

namespace Orleans.Raft.Tests;

// One `ReplicatedCounter --silo N` child process (a real silo with its Raft node), started and restarted; its output is
// kept for failure reports.
public sealed class SiloProcess(int index, SiloPorts ports, string dataDirectory) : IAsyncDisposable
{
    private readonly List<string> _earlierOutput = [];
    private SampleProcess? _process;

    public int Index => index;

    public string Name => $"silo{index}";

    public bool IsRunning => _process is { IsRunning: true };

    public string Output => string.Join(Environment.NewLine, _earlierOutput.Append(_process?.Output() ?? ""));

    // Starts the process and waits until the silo serves grains ("READY" on its output).
    public async Task StartAsync(TimeSpan timeout)
    {
        Assert.False(IsRunning, $"{Name} is already running");
        _process = SampleProcess.Start("ReplicatedCounter", Name,
        [
            "--silo", index.ToString(CultureInfo.InvariantCulture), "--data", dataDirectory,
            "--silo-ports", ports.Silo, "--gateway-ports", ports.Gateway, "--raft-ports", ports.Raft,
        ]);
        var first = await Task.WhenAny(_process.Ready, Task.Delay(timeout));
        Assert.True(first == _process.Ready && _process.Ready.IsCompletedSuccessfully, $"{Name} did not become ready within {timeout}:{Environment.NewLine}{Output}");
    }

    // SIGKILL: no shutdown code runs, as in a crash.
    public async Task KillAsync()
    {
        if (Interlocked.Exchange(ref _process, null) is { } process)
        {
            await process.KillAsync();
            _earlierOutput.Add(process.Output());
        }
    }

    public async ValueTask DisposeAsync() => await KillAsync();
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
