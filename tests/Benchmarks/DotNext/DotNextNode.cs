using System.Diagnostics;

namespace Benchmarks.DotNext;

/// <summary>
/// One <c>Benchmarks.DotNext</c> node process: its output lines kept, tagged, for failure reports; commands written to
/// its standard input, each answered by the next output line that starts with the expected word. Killing it is SIGKILL.
/// </summary>
/// <remarks>
/// Like <c>Raft.Testing.Processes.SampleProcess</c>, plus standard input (that class only runs the samples' programs,
/// without it). One request at a time per node: the callers await each answer before the next command.
/// </remarks>
internal sealed class DotNextNode : IAsyncDisposable
{
    private readonly List<string> _output = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _label;
    private readonly Process _process;
    private (string Prefix, TaskCompletionSource<string> Answer)? _pending;
    private bool _killed;

    private DotNextNode(string label, Process process)
    {
        _label = label;
        _process = process;
    }

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

    public Process Process => _process;

    /// <summary>Completes when the node printed its READY line; faults when it exited first.</summary>
    public Task Ready => _ready.Task;

    public static DotNextNode Start(string label, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(NodeDll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"DotNext node {label} did not start.");
        var node = new DotNextNode(label, process);
        process.OutputDataReceived += (_, e) => node.Record(e.Data);
        process.ErrorDataReceived += (_, e) => node.Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _ = process.WaitForExitAsync().ContinueWith(
            _ => node._ready.TrySetException(new IOException($"{label} exited before it was ready:{Environment.NewLine}{node.Output()}")),
            TaskScheduler.Default);
        return node;
    }

    /// <summary>Writes <paramref name="command"/> and returns the next output line that starts with <paramref name="answerPrefix"/>.</summary>
    public async Task<string> AskAsync(string command, string answerPrefix, TimeSpan? timeout = null)
    {
        var answer = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            _pending = (answerPrefix, answer);
        }

        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
        try
        {
            return await answer.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(10));
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{_label} did not answer '{command}':{Environment.NewLine}{Output()}");
        }
    }

    /// <summary>The last <paramref name="lines"/> lines of output, each tagged with the label.</summary>
    public string Output(int lines = 40)
    {
        lock (_output)
        {
            return string.Join(Environment.NewLine, _output.TakeLast(lines));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_killed)
        {
            _killed = true;
            try
            {
                _process.Kill();
            }
            catch (InvalidOperationException)
            {
                // It exited on its own meanwhile.
            }

            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }

    private void Record(string? line)
    {
        if (line is null)
        {
            return;
        }

        TaskCompletionSource<string>? answered = null;
        lock (_output)
        {
            _output.Add($"[{_label}] {line}");
            if (_pending is { } pending && line.StartsWith(pending.Prefix, StringComparison.Ordinal))
            {
                answered = pending.Answer;
                _pending = null;
            }
        }

        answered?.TrySetResult(line);
        if (line.StartsWith("READY ", StringComparison.Ordinal))
        {
            _ready.TrySetResult();
        }
    }
}
