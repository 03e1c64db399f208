using System.Buffers;
using System.Text;
using System.Text.Json;
using ControlPlane.Mcp.Internal.Protocol;
using ControlPlane.Mcp.Internal.Tools;

namespace ControlPlane.Mcp.Internal.Session;

/// <summary>
/// <c>tools/list</c> and <c>tools/call</c>. Errors in finding or addressing a tool (unknown, not
/// allowed, malformed request) are JSON-RPC errors; what the tool reports, and the approval gate's
/// refusals, are results with <c>isError: true</c>, which the model reads (MCP tools, error handling).
/// </summary>
internal sealed partial class McpSession
{
    private static readonly JsonElement NoArguments = JsonElement.Parse("{}");

    private byte[] ListTools(RequestId id, JsonElement parameters, string version)
    {
        var tools = _server.Visible;
        var start = Paging.Start(parameters, "tools", tools.Count);
        var end = Math.Min(tools.Count, start + _server.Options.PageSize);
        return JsonRpcFrames.Result(id, json =>
        {
            json.WriteStartArray("tools");
            for (var i = start; i < end; i++)
            {
                tools[i].WriteListEntry(json, version);
            }
            json.WriteEndArray();
            Paging.WriteNextCursor(json, "tools", end, tools.Count);
        });
    }

    private Reply CallTool(RequestId id, JsonElement parameters, string version)
    {
        if (parameters.ValueKind != JsonValueKind.Object || !parameters.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String)
        {
            throw McpProtocolException.InvalidParams("Invalid params: 'name' (a string) is required");
        }
        var name = nameElement.GetString()!;
        var tool = _server.Tools.Find(name)
            ?? throw McpProtocolException.InvalidParams($"Unknown tool: {Text.Shorten(name)}");
        if (!_server.IsVisible(tool))
        {
            McpLog.ToolDenied(_server.Logger, _server.Agent, tool.Name, "not_allowed");
            throw McpProtocolException.InvalidParams($"Tool '{tool.Name}' is not allowed for agent '{_server.Agent}'", json =>
            {
                json.WriteStartObject();
                json.WriteString("reason", "not_allowed");
                json.WriteString("agent", _server.Agent);
                json.WriteString("tool", tool.Name);
                json.WriteEndObject();
            });
        }

        var arguments = NoArguments;
        if (parameters.TryGetProperty("arguments", out var given) && given.ValueKind != JsonValueKind.Null)
        {
            if (given.ValueKind != JsonValueKind.Object)
            {
                throw McpProtocolException.InvalidParams("Invalid params: 'arguments' must be an object");
            }
            arguments = given.Clone();
        }

        var problems = ArgumentValidator.Validate(tool, arguments);
        if (problems.Count > 0)
        {
            var text = $"Invalid arguments for tool '{tool.Name}': {string.Join("; ", problems)}.";
            McpLog.ToolCompleted(_server.Logger, _server.Agent, tool.Name, "invalid_arguments", 0);
            // 2025-11-25 (SEP-1303): input validation errors are tool execution errors, so the model
            // sees them and corrects itself; before, they were protocol errors (Invalid params).
            if (McpProtocolVersions.AtLeast(version, McpProtocolVersions.V2025_11_25))
            {
                return Reply.Of(ToolResult(id, McpToolResult.Error(text), version));
            }
            throw McpProtocolException.InvalidParams(text);
        }

        if (_calls.Count >= _server.Options.MaxConcurrentCalls)
        {
            throw new McpProtocolException(JsonRpcErrorCodes.ServerBusy, $"Server busy: {_server.Options.MaxConcurrentCalls} tool calls are in progress; retry when one has finished");
        }
        var call = _calls.TryStart(id.Key, _abort)
            ?? throw new McpProtocolException(JsonRpcErrorCodes.InvalidRequest, $"Invalid Request: id {Text.Shorten(id.Raw)} is already used by a call in progress");
        var progressToken = ProgressToken(parameters);
        return Reply.Pending(Task.Run(() => RunToolAsync(id, tool, arguments, progressToken, call, version)));
    }

    private async Task<byte[]?> RunToolAsync(RequestId id, RegisteredTool tool, JsonElement arguments, string? progressToken, InFlightCall call, string version)
    {
        var started = _server.Time.GetTimestamp();
        var outcome = "internal_error";
        try
        {
            var approval = McpApproval.None;
            if (tool.Tool.Destructive)
            {
                var decision = await _approvals.CheckAsync(tool, arguments, _clientElicitsForms && _clientReady, version, call.Token).ConfigureAwait(false);
                if (!decision.IsApproved)
                {
                    outcome = "refused";
                    return ToolResult(id, McpToolResult.Error(decision.Refusal!), version);
                }
                approval = decision.How;
            }
            var request = new McpToolCall(tool.Name, arguments, _server.Agent, approval, this, progressToken);
            var result = await tool.Tool.Handler(request, call.Token).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"The handler of tool '{tool.Name}' returned no result.");
            outcome = result.IsError ? "tool_error" : "ok";
            return ToolResult(id, result, version);
        }
        catch (OperationCanceledException) when (call.Token.IsCancellationRequested)
        {
            outcome = "cancelled";
            // MCP cancellation: the receiver should not answer a request the client cancelled.
            return call.CancelledByClient
                ? null
                : JsonRpcFrames.Error(id, JsonRpcErrorCodes.InternalError, "Internal error: the server stopped before the call finished");
        }
        catch (McpToolException ex)
        {
            outcome = "tool_error";
            return ToolResult(id, McpToolResult.Error(ex.Message), version);
        }
        catch (Exception ex)
        {
            McpLog.ToolFailed(_server.Logger, _server.Agent, tool.Name, ex);
            return ToolResult(id, McpToolResult.Error($"Tool '{tool.Name}' failed with an internal error (the server's log has the details)."), version);
        }
        finally
        {
            _calls.Finish(id.Key, call);
            McpLog.ToolCompleted(_server.Logger, _server.Agent, tool.Name, outcome, (long)_server.Time.GetElapsedTime(started).TotalMilliseconds);
        }
    }

    /// <summary>
    /// A CallToolResult: the text (or the serialized JSON result, as MCP asks for backwards
    /// compatibility) as text content, a JSON object as <c>structuredContent</c> (2025-06-18 and later).
    /// </summary>
    private static byte[] ToolResult(RequestId id, McpToolResult result, string version)
    {
        var structured = result.Structured is { ValueKind: not JsonValueKind.Undefined } s ? s : (JsonElement?)null;
        var text = result.Text ?? (structured is { } value ? Compact(value) : null);
        return JsonRpcFrames.Result(id, json =>
        {
            json.WriteStartArray("content");
            if (text is not null)
            {
                json.WriteStartObject();
                json.WriteString("type", "text");
                json.WriteString("text", text);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            if (structured is { ValueKind: JsonValueKind.Object } content && McpProtocolVersions.AtLeast(version, McpProtocolVersions.V2025_06_18))
            {
                json.WritePropertyName("structuredContent");
                content.WriteTo(json);
            }
            json.WriteBoolean("isError", result.IsError);
        });
    }

    private static string Compact(JsonElement value)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, JsonRpcFrames.WriterOptions))
        {
            value.WriteTo(json);
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>The request's <c>_meta.progressToken</c> (a string or a number), as its JSON text.</summary>
    private static string? ProgressToken(JsonElement parameters) =>
        parameters.TryGetProperty("_meta", out var meta) && meta.ValueKind == JsonValueKind.Object
        && meta.TryGetProperty("progressToken", out var token) && token.ValueKind is JsonValueKind.String or JsonValueKind.Number
            ? token.GetRawText()
            : null;
}
