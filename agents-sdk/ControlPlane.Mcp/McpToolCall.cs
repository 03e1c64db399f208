using System.Text.Json;
using ControlPlane.Mcp.Internal.Session;

namespace ControlPlane.Mcp;

/// <summary>One <c>tools/call</c> as a handler sees it: the validated arguments and who is calling.</summary>
public sealed class McpToolCall
{
    private readonly IToolCallChannel _channel;
    private readonly string? _progressTokenRaw;

    internal McpToolCall(string name, JsonElement arguments, string agent, McpApproval approval, IToolCallChannel channel, string? progressTokenRaw)
    {
        Name = name;
        Arguments = arguments;
        Agent = agent;
        Approval = approval;
        _channel = channel;
        _progressTokenRaw = progressTokenRaw;
    }

    /// <summary>The tool's name.</summary>
    public string Name { get; }

    /// <summary>
    /// The arguments, always a JSON object (empty when the client sent none), valid against the input
    /// schema's top level; a destructive tool's include the <c>approve</c> the client sent, if any.
    /// </summary>
    public JsonElement Arguments { get; }

    /// <summary>The agent identity the server was started for (<see cref="McpServerOptions.Agent"/>).</summary>
    public string Agent { get; }

    /// <summary>How a destructive tool's call was approved (<see cref="McpApproval.None"/> for other tools).</summary>
    public McpApproval Approval { get; }

    /// <summary>The negotiated MCP revision.</summary>
    public string ProtocolVersion => _channel.ProtocolVersion;

    /// <summary>The client's <c>clientInfo</c> name and version, as it sent them.</summary>
    public McpClientInfo Client => _channel.Client;

    /// <summary>The argument <paramref name="name"/>, when present.</summary>
    public bool TryGetArgument(string name, out JsonElement value) => Arguments.TryGetProperty(name, out value);

    /// <summary>The string argument <paramref name="name"/>, or null when absent or null.</summary>
    public string? GetString(string name) =>
        TryGetArgument(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>
    /// Sends <c>notifications/progress</c> for this call when the client asked for progress (a
    /// <c>progressToken</c> in the request's <c>_meta</c>); otherwise does nothing.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="progress"/> or <paramref name="total"/> is not a finite number.</exception>
    public ValueTask ReportProgressAsync(double progress, double? total = null, string? message = null, CancellationToken cancellationToken = default)
    {
        if (!double.IsFinite(progress) || total is { } t && !double.IsFinite(t))
        {
            throw new ArgumentOutOfRangeException(nameof(progress), "Progress and total must be finite numbers.");
        }
        return _progressTokenRaw is null
            ? ValueTask.CompletedTask
            : _channel.NotifyProgressAsync(_progressTokenRaw, progress, total, message, cancellationToken);
    }

    /// <summary>
    /// Sends a log message to the client (<c>notifications/message</c>) when <paramref name="level"/>
    /// is at or above the level it set with <c>logging/setLevel</c> (<see cref="McpLogLevel.Info"/> until it does).
    /// Never put secrets here.
    /// </summary>
    public ValueTask LogAsync(McpLogLevel level, string message, CancellationToken cancellationToken = default) =>
        _channel.LogAsync(level, Name, message, cancellationToken);
}

/// <summary>How a destructive tool's call was approved.</summary>
public enum McpApproval
{
    /// <summary>Not a destructive tool: no approval needed.</summary>
    None,

    /// <summary>The call carried <c>approve: true</c>.</summary>
    Argument,

    /// <summary>The client's user accepted the server's elicitation.</summary>
    Elicitation,
}

/// <summary>The client's <c>clientInfo</c>.</summary>
public sealed record McpClientInfo(string Name, string Version);

/// <summary>MCP log levels (RFC 5424 severities), least severe first.</summary>
public enum McpLogLevel
{
    /// <summary><c>debug</c>.</summary>
    Debug,

    /// <summary><c>info</c>.</summary>
    Info,

    /// <summary><c>notice</c>.</summary>
    Notice,

    /// <summary><c>warning</c>.</summary>
    Warning,

    /// <summary><c>error</c>.</summary>
    Error,

    /// <summary><c>critical</c>.</summary>
    Critical,

    /// <summary><c>alert</c>.</summary>
    Alert,

    /// <summary><c>emergency</c>.</summary>
    Emergency,
}
