using ControlPlane.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace ControlPlane.Mcp;

/// <summary>Logging for a stdio MCP server, whose stdout carries protocol messages only.</summary>
public static class McpLoggingBuilderExtensions
{
    /// <summary>
    /// JSON log lines (<c>ts</c>, <c>level</c>, <c>message</c> and the event's fields, such as
    /// <c>agent</c>, <c>tool</c>, <c>reason</c> of a denied call) on stderr, every level: the project's
    /// log format (lib/ControlPlane.Hosting), never on stdout.
    /// </summary>
    public static ILoggingBuilder AddMcpStderrJson(this ILoggingBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.AddConsole(o =>
        {
            o.FormatterName = JsonLogFormatter.FormatterName;
            o.LogToStandardErrorThreshold = LogLevel.Trace;
        });
        builder.AddConsoleFormatter<JsonLogFormatter, ConsoleFormatterOptions>();
        return builder;
    }
}
