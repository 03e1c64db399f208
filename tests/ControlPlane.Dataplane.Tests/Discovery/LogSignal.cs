using Microsoft.Extensions.Logging;

namespace ControlPlane.Dataplane.Tests.Discovery;

/// <summary>A logger provider whose <see cref="Logged"/> completes with the first record of event <paramref name="eventId"/>: a test waits on what the node says, without polling.</summary>
internal sealed class LogSignal(int eventId) : ILoggerProvider
{
    private readonly TaskCompletionSource<string> _logged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The message of the first record of the event.</summary>
    public Task<string> Logged => _logged.Task;

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(LogSignal signal) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == signal._eventId)
            {
                signal._logged.TrySetResult(formatter(state, exception));
            }
        }
    }

    private readonly int _eventId = eventId;
}
