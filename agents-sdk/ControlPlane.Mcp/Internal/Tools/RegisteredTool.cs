using System.Collections.Frozen;
using System.Text.Json;

namespace ControlPlane.Mcp.Internal.Tools;

/// <summary>A tool as the server serves it: its listed schema (with <c>approve</c> for a destructive tool) and the top-level constraints it checks.</summary>
internal sealed class RegisteredTool
{
    public required McpTool Tool { get; init; }

    /// <summary>The schema listed by <c>tools/list</c>.</summary>
    public required JsonElement InputSchema { get; init; }

    /// <summary>The output schema, copied from the host's document.</summary>
    public JsonElement? OutputSchema { get; init; }

    public required IReadOnlyList<string> Required { get; init; }

    /// <summary>Each declared property's top-level constraints.</summary>
    public required FrozenDictionary<string, PropertyRule> Properties { get; init; }

    /// <summary><c>additionalProperties: false</c>: arguments not declared are refused.</summary>
    public required bool ClosedProperties { get; init; }

    public string Name => Tool.Name;

    public void WriteListEntry(Utf8JsonWriter json, string protocolVersion)
    {
        json.WriteStartObject();
        json.WriteString("name", Tool.Name);
        if (Tool.Title is not null && McpProtocolVersions.AtLeast(protocolVersion, McpProtocolVersions.V2025_06_18))
        {
            json.WriteString("title", Tool.Title);
        }
        json.WriteString("description", Tool.Description);
        json.WritePropertyName("inputSchema");
        InputSchema.WriteTo(json);
        if (OutputSchema is { } output && McpProtocolVersions.AtLeast(protocolVersion, McpProtocolVersions.V2025_06_18))
        {
            json.WritePropertyName("outputSchema");
            output.WriteTo(json);
        }
        if (McpProtocolVersions.AtLeast(protocolVersion, McpProtocolVersions.V2025_03_26))
        {
            WriteAnnotations(json);
        }
        json.WriteEndObject();
    }

    private void WriteAnnotations(Utf8JsonWriter json)
    {
        var hints = Tool.Annotations;
        json.WriteStartObject("annotations");
        if (hints?.Title is { } title)
        {
            json.WriteString("title", title);
        }
        if (hints?.ReadOnly is { } readOnly)
        {
            json.WriteBoolean("readOnlyHint", readOnly);
        }
        // Always written: an absent destructiveHint means true.
        json.WriteBoolean("destructiveHint", Tool.Destructive);
        if (hints?.Idempotent is { } idempotent)
        {
            json.WriteBoolean("idempotentHint", idempotent);
        }
        if (hints?.OpenWorld is { } openWorld)
        {
            json.WriteBoolean("openWorldHint", openWorld);
        }
        json.WriteEndObject();
    }
}

/// <summary>A property's checked constraints: its JSON Schema <c>type</c> (one or several) and <c>enum</c>.</summary>
internal sealed record PropertyRule(IReadOnlyList<string> Types, IReadOnlyList<JsonElement>? Enum);
