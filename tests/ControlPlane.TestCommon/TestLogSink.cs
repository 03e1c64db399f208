using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace ControlPlane.TestCommon;

/// <summary>Captures a test server's log, so tests can fail on unexpected errors and look for (or the absence of) text.</summary>
public sealed class TestLogSink : ILoggerProvider
{
    private readonly ConcurrentQueue<LogRecord> _records = new();

    public IReadOnlyCollection<LogRecord> Records => _records.ToArray();

    public IEnumerable<LogRecord> Errors => _records.Where(r => r.Level >= LogLevel.Error);

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    public sealed record LogRecord(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception)
    {
        public override string ToString() => $"{Level} {Category}[{EventId.Id}]: {Message}{(Exception is null ? "" : " " + Exception.GetType().Name + ": " + Exception.Message)}";
    }

    private sealed class Logger(TestLogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink._records.Enqueue(new LogRecord(category, logLevel, eventId, formatter(state, exception), exception));
    }
}
