using System.Text.Json;

namespace ControlPlane.Mcp;

/// <summary>
/// What a tool returns: text for the model, and/or a JSON result. A JSON object is sent as the
/// result's <c>structuredContent</c> (MCP 2025-06-18 and later) and, serialized, as its text when no
/// text is given, as MCP asks for backwards compatibility.
/// </summary>
public sealed class McpToolResult
{
    /// <summary>The text content; null sends the serialized <see cref="Structured"/> instead (or no content).</summary>
    public string? Text { get; init; }

    /// <summary>A JSON result: sent as <c>structuredContent</c> when it is an object.</summary>
    public JsonElement? Structured { get; init; }

    /// <summary>The tool failed (a tool execution error, visible to the model).</summary>
    public bool IsError { get; init; }

    /// <summary>A successful result with <paramref name="text"/>.</summary>
    public static McpToolResult FromText(string text) => new() { Text = text };

    /// <summary>A successful JSON result, with an optional human-readable <paramref name="text"/>.</summary>
    public static McpToolResult FromJson(JsonElement structured, string? text = null) => new() { Structured = structured, Text = text };

    /// <summary>A tool execution error the model can read and act on.</summary>
    public static McpToolResult Error(string message) => new() { Text = message, IsError = true };
}
