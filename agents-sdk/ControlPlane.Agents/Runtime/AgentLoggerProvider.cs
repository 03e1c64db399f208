using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Agents.Runtime;

/// <summary>
/// The SDK's log (failovers, answers from a replica's memory, heartbeat stream failures) as the
/// agents' JSON lines: warnings and errors only, so they show with --quiet too, attributed to the
/// action whose activity is current (its trace id), else to the SDK.
/// </summary>
internal sealed class AgentLoggerProvider(AgentLog log) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(log);

    public void Dispose()
    {
    }

    /// <summary>The agent, action and trace id of the action running in this flow (tags set by AgentAction.RunAsync).</summary>
    internal static LogContext Current()
    {
        for (var activity = Activity.Current; activity is not null; activity = activity.Parent)
        {
            if (activity.GetTagItem("request_id") is string traceId)
            {
                return new LogContext(activity.GetTagItem("agent") as string ?? "sdk", activity.GetTagItem("action") as string ?? "", null, traceId);
            }
        }
        return new LogContext("sdk", "", null, "");
    }

    private sealed class Logger(AgentLog log) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            // 9102 (a heartbeat stream failed): the heartbeat pool reports failed rounds itself, with the agent's fields.
            if (!IsEnabled(logLevel) || eventId.Id == 9102)
            {
                return;
            }
            log.Write(logLevel >= LogLevel.Error ? "error" : "warn", Current(), formatter(state, exception), [("event_id", eventId.Id)]);
        }
    }
}
