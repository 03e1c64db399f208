using System.Text.Json;
using ControlPlane.Mcp.Internal.Protocol;

namespace ControlPlane.Mcp.Internal.Session;

/// <summary>Initialization (MCP lifecycle), logging and the notifications a tool call sends.</summary>
internal sealed partial class McpSession
{
    private static readonly string[] LogLevelNames = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

    /// <summary>
    /// Version negotiation: the client's version when supported, otherwise the latest supported (the
    /// client disconnects if it cannot speak it). Capabilities: tools and logging, prompts when there are any.
    /// </summary>
    private byte[] Initialize(RequestId id, JsonElement parameters, bool inBatch)
    {
        if (inBatch)
        {
            throw new McpProtocolException(JsonRpcErrorCodes.InvalidRequest, "Invalid Request: 'initialize' must not be part of a JSON-RPC batch");
        }
        if (_protocolVersion is not null)
        {
            throw new McpProtocolException(JsonRpcErrorCodes.InvalidRequest, "Invalid Request: the session is already initialized");
        }
        if (parameters.ValueKind != JsonValueKind.Object
            || !parameters.TryGetProperty("protocolVersion", out var requested)
            || requested.ValueKind != JsonValueKind.String)
        {
            throw McpProtocolException.InvalidParams("Invalid params: 'protocolVersion' (a string) is required", WriteSupportedVersions);
        }
        var version = McpProtocolVersions.Supported.Contains(requested.GetString()) ? requested.GetString()! : McpProtocolVersions.Latest;

        var client = new McpClientInfo("unknown", "unknown");
        if (parameters.TryGetProperty("clientInfo", out var info) && info.ValueKind == JsonValueKind.Object)
        {
            client = new McpClientInfo(StringOr(info, "name", "unknown"), StringOr(info, "version", "unknown"));
        }
        var elicitsForms = false;
        if (parameters.TryGetProperty("capabilities", out var capabilities) && capabilities.ValueKind == JsonValueKind.Object
            && capabilities.TryGetProperty("elicitation", out var elicitation) && elicitation.ValueKind == JsonValueKind.Object)
        {
            // 2025-11-25: an empty elicitation capability means form mode; one naming only "url" does not offer forms.
            elicitsForms = elicitation.TryGetProperty("form", out _) || !elicitation.TryGetProperty("url", out _);
        }

        _client = client;
        _clientElicitsForms = elicitsForms && McpProtocolVersions.AtLeast(version, McpProtocolVersions.V2025_06_18);
        _protocolVersion = version;
        McpLog.Initialized(_server.Logger, _server.Agent, Text.Shorten(client.Name, 64), Text.Shorten(client.Version, 32), version);

        var options = _server.Options;
        return JsonRpcFrames.Result(id, json =>
        {
            json.WriteString("protocolVersion", version);
            json.WriteStartObject("capabilities");
            json.WriteStartObject("tools");
            json.WriteBoolean("listChanged", false);
            json.WriteEndObject();
            if (_server.Prompts.All.Count > 0)
            {
                json.WriteStartObject("prompts");
                json.WriteBoolean("listChanged", false);
                json.WriteEndObject();
            }
            json.WriteStartObject("logging");
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteStartObject("serverInfo");
            json.WriteString("name", options.ServerName);
            if (options.ServerTitle is not null && McpProtocolVersions.AtLeast(version, McpProtocolVersions.V2025_06_18))
            {
                json.WriteString("title", options.ServerTitle);
            }
            json.WriteString("version", _server.ServerVersion);
            json.WriteEndObject();
            if (options.Instructions is not null)
            {
                json.WriteString("instructions", options.Instructions);
            }
        });
    }

    private static void WriteSupportedVersions(Utf8JsonWriter json)
    {
        json.WriteStartObject();
        json.WriteStartArray("supported");
        foreach (var version in McpProtocolVersions.Supported)
        {
            json.WriteStringValue(version);
        }
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static string StringOr(JsonElement element, string name, string fallback) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString()! : fallback;

    private byte[] SetLogLevel(RequestId id, JsonElement parameters)
    {
        var level = parameters.ValueKind == JsonValueKind.Object && parameters.TryGetProperty("level", out var l) && l.ValueKind == JsonValueKind.String
            ? Array.IndexOf(LogLevelNames, l.GetString())
            : -1;
        if (level < 0)
        {
            throw McpProtocolException.InvalidParams($"Invalid params: 'level' must be one of {string.Join(", ", LogLevelNames)}");
        }
        _logLevel = level;
        return JsonRpcFrames.Result(id, static _ => { });
    }

    public ValueTask NotifyProgressAsync(string progressTokenRaw, double progress, double? total, string? message, CancellationToken cancellationToken)
    {
        var withMessage = McpProtocolVersions.AtLeast(ProtocolVersion, McpProtocolVersions.V2025_03_26);
        return _writer.SendAsync(JsonRpcFrames.Notification("notifications/progress", json =>
        {
            json.WritePropertyName("progressToken");
            json.WriteRawValue(progressTokenRaw, skipInputValidation: true);
            json.WriteNumber("progress", progress);
            if (total is { } t)
            {
                json.WriteNumber("total", t);
            }
            if (message is not null && withMessage)
            {
                json.WriteString("message", message);
            }
        }), cancellationToken);
    }

    public ValueTask LogAsync(McpLogLevel level, string logger, string message, CancellationToken cancellationToken)
    {
        if ((int)level < _logLevel || !Enum.IsDefined(level))
        {
            return ValueTask.CompletedTask;
        }
        return _writer.SendAsync(JsonRpcFrames.Notification("notifications/message", json =>
        {
            json.WriteString("level", LogLevelNames[(int)level]);
            json.WriteString("logger", logger);
            json.WriteString("data", message);
        }), cancellationToken);
    }
}
