using System.Diagnostics;

namespace Raft.Testing.Processes;

/// <summary>
/// One of this repository's sample programs run as a child process (<c>dotnet &lt;Sample&gt;.dll arguments</c>), for the
/// tests and benchmarks that need real processes: its output lines are kept, tagged, for failure reports; it is ready
/// once it prints a line starting with <c>READY </c>; and killing it is SIGKILL, so no shutdown code runs, as in a crash.
/// A program started with standard input (<see cref="StartProgram"/>) can be driven a command at a time (<see cref="AskAsync"/>).
/// </summary>
public sealed class SampleProcess : IAsyncDisposable
{
    private readonly List<string> _output = [];
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly string _label;
    private Process? _process;
    private (string Prefix, TaskCompletionSource<string> Answer)? _pending;

    private SampleProcess(string label, Process process)
    {
        _label = label;
        _process = process;
        Process = process;
    }

    /// <summary>The operating-system process (for its CPU time, exit state and so on).</summary>
    public Process Process { get; }

    /// <summary>Completes when the program printed its READY line; faults when it exited first.</summary>
    public Task Ready => _ready.Task;

    /// <summary>True until the process exited or was killed.</summary>
    public bool IsRunning => _process is { HasExited: false };

    /// <summary>
    /// The path of <paramref name="sample"/>'s assembly, built by a project reference in the same configuration and
    /// target framework as the calling program (<c>samples/&lt;sample&gt;/bin/&lt;configuration&gt;/&lt;tfm&gt;</c>).
    /// </summary>
    /// <param name="sample">The sample's folder and assembly name, e.g. <c>KeyValueStore</c>.</param>
    /// <returns>The full path.</returns>
    /// <exception cref="FileNotFoundException">The sample is not built there.</exception>
    public static string SampleDll(string sample)
    {
        var baseDirectory = new DirectoryInfo(AppContext.BaseDirectory);
        var path = Path.GetFullPath(Path.Combine(
            AppContext.BaseDirectory, "..", "..", "..", "..", "..", "samples", sample, "bin",
            baseDirectory.Parent!.Name, baseDirectory.Name, sample + ".dll"));
        return File.Exists(path)
            ? path
            : throw new FileNotFoundException($"The {sample} sample is not built at {path}; build the project that references it in the same configuration.", path);
    }

    /// <summary>Starts <paramref name="sample"/> with <paramref name="arguments"/>; await <see cref="Ready"/> before using it.</summary>
    /// <param name="sample">The sample's name, as for <see cref="SampleDll"/>.</param>
    /// <param name="label">What this process's output lines are tagged with, e.g. its node id.</param>
    /// <param name="arguments">The program's arguments.</param>
    /// <returns>The running process.</returns>
    public static SampleProcess Start(string sample, string label, IEnumerable<string> arguments) =>
        StartProgram(SampleDll(sample), label, arguments, standardInput: false);

    /// <summary>Starts the program <paramref name="dll"/> (any .NET assembly) as <see cref="Start"/> starts a sample.</summary>
    /// <param name="dll">The program's assembly.</param>
    /// <param name="label">What this process's output lines are tagged with.</param>
    /// <param name="arguments">The program's arguments.</param>
    /// <param name="standardInput">Whether the program reads commands from standard input (<see cref="AskAsync"/>).</param>
    /// <returns>The running process.</returns>
    public static SampleProcess StartProgram(string dll, string label, IEnumerable<string> arguments, bool standardInput)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardInput = standardInput,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"{Path.GetFileNameWithoutExtension(dll)} ({label}) did not start.");
        var child = new SampleProcess(label, process);
        process.OutputDataReceived += (_, e) => child.Record(e.Data);
        process.ErrorDataReceived += (_, e) => child.Record(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _ = process.WaitForExitAsync().ContinueWith(
            _ => child._ready.TrySetException(new IOException($"{label} exited before it was ready:{Environment.NewLine}{child.Output()}")),
            TaskScheduler.Default);
        return child;
    }

    /// <summary>The last <paramref name="lines"/> lines of output, each tagged with the label.</summary>
    /// <param name="lines">How many lines at most.</param>
    /// <returns>The lines, joined.</returns>
    public string Output(int lines = 40)
    {
        lock (_output)
        {
            return string.Join(Environment.NewLine, _output.TakeLast(lines));
        }
    }

    /// <summary>
    /// Writes <paramref name="command"/> to the program's standard input and returns its next output line that starts
    /// with <paramref name="answerPrefix"/>; one command at a time.
    /// </summary>
    /// <param name="command">The command line.</param>
    /// <param name="answerPrefix">How the answer line starts.</param>
    /// <param name="timeout">How long to wait for it (10 s by default).</param>
    /// <returns>The answer line, untagged.</returns>
    /// <exception cref="InvalidOperationException">The program was started without standard input, or has been killed.</exception>
    /// <exception cref="TimeoutException">No answer in time; the message holds the program's last lines.</exception>
    public async Task<string> AskAsync(string command, string answerPrefix, TimeSpan? timeout = null)
    {
        var process = _process ?? throw new InvalidOperationException($"{_label} was killed.");
        if (!process.StartInfo.RedirectStandardInput)
        {
            throw new InvalidOperationException($"{_label} was started without standard input (StartProgram with standardInput: true).");
        }

        var answer = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_output)
        {
            _pending = (answerPrefix, answer);
        }

        await process.StandardInput.WriteLineAsync(command).ConfigureAwait(false);
        await process.StandardInput.FlushAsync().ConfigureAwait(false);
        try
        {
            return await answer.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{_label} did not answer '{command}':{Environment.NewLine}{Output()}");
        }
    }

    /// <summary>Kills the process with SIGKILL and waits for it to end; nothing when it already ended.</summary>
    /// <returns>A task that completes once the process is gone.</returns>
    public async Task KillAsync()
    {
        if (Interlocked.Exchange(ref _process, null) is { } process)
        {
            Record($"--- SIGKILL at {DateTime.UtcNow:HH:mm:ss.fff}");
            try
            {
                process.Kill();
            }
            catch (InvalidOperationException)
            {
                // It exited on its own meanwhile.
            }

            await process.WaitForExitAsync().ConfigureAwait(false);
            process.Dispose();
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync() => await KillAsync().ConfigureAwait(false);

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
