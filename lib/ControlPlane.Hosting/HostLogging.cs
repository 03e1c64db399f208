using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace ControlPlane.Hosting;

/// <summary>How every process of the project logs: JSON lines, W3C trace fields, no per-request activity unless asked for.</summary>
public static class HostLogging
{
    private const string HostingDiagnostics = "Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <summary>
    /// JSON lines by default (ts, level, category, event_id, message, trace_id, request_id, the
    /// message's fields; <c>Logging:Console:FormatterName=simple</c> for humans at a terminal).
    /// ASP.NET Core starts an Activity and a log scope for every request while its hosting logger is
    /// on (even at Critical), and they live as long as the request: a long-lived watch or heartbeat
    /// stream holds them for hours, a proxied request pays them every time. That category stays off
    /// unless configured; <see cref="RequestIdMiddleware"/> carries the caller's trace instead
    /// (<see cref="RequestTrace"/>: the same log fields). A tracing listener (OpenTelemetry) still gets activities.
    /// </summary>
    public static void UseJsonLines(WebApplicationBuilder builder)
    {
        builder.Logging.AddConsole(console => console.FormatterName ??= JsonLogFormatter.FormatterName);
        builder.Logging.AddConsoleFormatter<JsonLogFormatter, ConsoleFormatterOptions>();
        builder.Logging.Configure(o => o.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId);
        if (builder.Configuration[$"Logging:LogLevel:{HostingDiagnostics}"] is null)
        {
            builder.Logging.AddFilter(HostingDiagnostics, LogLevel.None);
        }
    }
}
