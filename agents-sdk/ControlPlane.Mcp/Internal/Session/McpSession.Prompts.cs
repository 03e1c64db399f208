using System.Text.Json;
using ControlPlane.Mcp.Internal.Prompts;
using ControlPlane.Mcp.Internal.Protocol;

namespace ControlPlane.Mcp.Internal.Session;

/// <summary><c>prompts/list</c> and <c>prompts/get</c>: the host's prompts, their templates filled with the arguments.</summary>
internal sealed partial class McpSession
{
    private byte[] ListPrompts(RequestId id, JsonElement parameters, string version)
    {
        var prompts = _server.Prompts.All;
        var start = Paging.Start(parameters, "prompts", prompts.Count);
        var end = Math.Min(prompts.Count, start + _server.Options.PageSize);
        return JsonRpcFrames.Result(id, json =>
        {
            json.WriteStartArray("prompts");
            for (var i = start; i < end; i++)
            {
                PromptCatalog.WriteListEntry(json, prompts[i], version);
            }
            json.WriteEndArray();
            Paging.WriteNextCursor(json, "prompts", end, prompts.Count);
        });
    }

    private byte[] GetPrompt(RequestId id, JsonElement parameters)
    {
        if (parameters.ValueKind != JsonValueKind.Object || !parameters.TryGetProperty("name", out var nameElement) || nameElement.ValueKind != JsonValueKind.String)
        {
            throw McpProtocolException.InvalidParams("Invalid params: 'name' (a string) is required");
        }
        var name = nameElement.GetString()!;
        var prompt = _server.Prompts.Find(name) ?? throw McpProtocolException.InvalidParams($"Unknown prompt: {Text.Shorten(name)}");

        var declared = prompt.Arguments.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        if (parameters.TryGetProperty("arguments", out var arguments) && arguments.ValueKind != JsonValueKind.Null)
        {
            if (arguments.ValueKind != JsonValueKind.Object)
            {
                throw McpProtocolException.InvalidParams("Invalid params: 'arguments' must be an object of strings");
            }
            foreach (var argument in arguments.EnumerateObject())
            {
                if (!declared.Contains(argument.Name))
                {
                    throw McpProtocolException.InvalidParams($"Invalid params: prompt '{prompt.Name}' has no argument '{Text.Shorten(argument.Name, 64)}'");
                }
                if (argument.Value.ValueKind != JsonValueKind.String)
                {
                    throw McpProtocolException.InvalidParams($"Invalid params: argument '{argument.Name}' of prompt '{prompt.Name}' must be a string");
                }
                values[argument.Name] = argument.Value.GetString()!;
            }
        }
        if (prompt.Arguments.FirstOrDefault(a => a.Required && !values.ContainsKey(a.Name)) is { } missing)
        {
            throw McpProtocolException.InvalidParams($"Invalid params: missing required argument '{missing.Name}' of prompt '{prompt.Name}'");
        }

        var messages = prompt.Messages
            .Select(m => (m.Role, Text: PromptTemplate.Render(m.Text, declared, values)))
            .Where(m => !string.IsNullOrWhiteSpace(m.Text))
            .ToList();
        return JsonRpcFrames.Result(id, json =>
        {
            if (prompt.Description is not null)
            {
                json.WriteString("description", prompt.Description);
            }
            json.WriteStartArray("messages");
            foreach (var (role, text) in messages)
            {
                json.WriteStartObject();
                json.WriteString("role", role == McpRole.Assistant ? "assistant" : "user");
                json.WriteStartObject("content");
                json.WriteString("type", "text");
                json.WriteString("text", text);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndArray();
        });
    }
}
