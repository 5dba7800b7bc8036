using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Raft.Testing.Logging;

/// <summary>
/// Collects the log entries of every logger it creates, with the time since the sink was created: for failure messages,
/// and for tests of what a component logs and at which level.
/// </summary>
public sealed class TestLog : ILoggerFactory
{
    private readonly ConcurrentQueue<Entry> _entries = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    /// <summary>Every entry so far, in the order logged.</summary>
    public IReadOnlyList<Entry> Entries => [.. _entries];

    /// <summary>Every entry so far as one line each: time, level, message and exception.</summary>
    public IReadOnlyList<string> Lines => [.. _entries.Select(e => e.ToString())];

    public override string ToString() => string.Join(Environment.NewLine, Lines);

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    /// <summary>This sink as a logger provider, for hosts that take providers (a silo's logging).</summary>
    public ILoggerProvider AsProvider() => new Provider(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    /// <summary>One log entry.</summary>
    public sealed record Entry(TimeSpan At, LogLevel Level, EventId EventId, string Message, Exception? Exception)
    {
        public override string ToString()
        {
            var line = $"{At.TotalMilliseconds,8:F1} {Level,-11} {Message}";
            return Exception is null ? line : line + " " + Exception.GetType().Name + ": " + Exception.Message;
        }
    }

    private sealed class Provider(TestLog sink) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => sink.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }

    private sealed class Logger(TestLog sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink._entries.Enqueue(new Entry(sink._clock.Elapsed, logLevel, eventId, formatter(state, exception), exception));
    }
}
