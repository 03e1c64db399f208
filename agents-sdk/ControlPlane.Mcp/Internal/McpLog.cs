using Microsoft.Extensions.Logging;

namespace ControlPlane.Mcp.Internal;

/// <summary>
/// The server's log events. Field names are the JSON keys of the log line (lib/ControlPlane.Hosting's
/// formatter writes each named field flat), lower case as the agents' audit lines: <c>agent</c>,
/// <c>tool</c>, <c>reason</c>. Never an argument value: arguments may hold secrets.
/// </summary>
internal static partial class McpLog
{
    [LoggerMessage(EventId = 11001, Level = LogLevel.Information, Message = "MCP session initialized for {agent}: client {client} {client_version}, protocol {protocol_version}")]
    public static partial void Initialized(ILogger logger, string agent, string client, string client_version, string protocol_version);

    [LoggerMessage(EventId = 11002, Level = LogLevel.Warning, Message = "Tool call denied: {tool} for {agent} ({reason})")]
    public static partial void ToolDenied(ILogger logger, string agent, string tool, string reason);

    [LoggerMessage(EventId = 11003, Level = LogLevel.Information, Message = "Tool call {tool} for {agent}: {outcome} in {duration_ms} ms")]
    public static partial void ToolCompleted(ILogger logger, string agent, string tool, string outcome, long duration_ms);

    [LoggerMessage(EventId = 11004, Level = LogLevel.Error, Message = "Tool {tool} for {agent} failed")]
    public static partial void ToolFailed(ILogger logger, string agent, string tool, Exception exception);

    [LoggerMessage(EventId = 11005, Level = LogLevel.Warning, Message = "Rejected a message from the client: {reason}")]
    public static partial void MessageRejected(ILogger logger, string reason);

    [LoggerMessage(EventId = 11006, Level = LogLevel.Information, Message = "Asking the user to approve destructive tool {tool} for {agent}")]
    public static partial void ApprovalRequested(ILogger logger, string agent, string tool);

    [LoggerMessage(EventId = 11007, Level = LogLevel.Information, Message = "MCP session ended for {agent}: {reason}")]
    public static partial void SessionEnded(ILogger logger, string agent, string reason);

    [LoggerMessage(EventId = 11008, Level = LogLevel.Warning, Message = "{count} tool calls did not stop within the shutdown timeout")]
    public static partial void CallsAbandoned(ILogger logger, int count);

    [LoggerMessage(EventId = 11009, Level = LogLevel.Warning, Message = "Could not write to the client: {reason}")]
    public static partial void OutputFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 11010, Level = LogLevel.Warning, Message = "Agent {agent} has no allow-list entry: it sees and may call no tool")]
    public static partial void NoAllowListEntry(ILogger logger, string agent);

    [LoggerMessage(EventId = 11012, Level = LogLevel.Error, Message = "Handling a message failed")]
    public static partial void MessageFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 11011, Level = LogLevel.Debug, Message = "Call {request_id} cancelled by the client: {reason}")]
    public static partial void CallCancelled(ILogger logger, string request_id, string reason);
}
