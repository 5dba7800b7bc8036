using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Raft.Core.Tests.Runtime.Fakes;

// Collects log lines of every node in a test, with the time since the sink was created, for failure messages.
public sealed class TestLog : ILoggerFactory
{
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public IReadOnlyList<string> Lines => [.. _lines];

    public override string ToString() => string.Join(Environment.NewLine, _lines);

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    private sealed class Logger(TestLog sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{sink._clock.Elapsed.TotalMilliseconds,8:F1} {logLevel,-11} {formatter(state, exception)}";
            sink._lines.Enqueue(exception is null ? line : line + " " + exception.GetType().Name + ": " + exception.Message);
        }
    }
}
