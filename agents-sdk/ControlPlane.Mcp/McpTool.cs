using System.Text.Json;

namespace ControlPlane.Mcp;

/// <summary>
/// A tool the server offers: listed by <c>tools/list</c> to agents whose allow-list names it, run by
/// <c>tools/call</c>. The server checks the arguments against the top level of
/// <see cref="InputSchema"/> (<c>required</c>, <c>type</c>, <c>enum</c>,
/// <c>additionalProperties: false</c>) before <see cref="Handler"/> runs.
/// </summary>
public sealed class McpTool
{
    /// <summary>Unique, 1 to 128 characters of <c>A-Z a-z 0-9 _ - .</c> (as MCP recommends), e.g. <c>lb-stats.top</c>.</summary>
    public required string Name { get; init; }

    /// <summary>A human-readable name (listed to MCP 2025-06-18 and later clients).</summary>
    public string? Title { get; init; }

    /// <summary>What the tool does, for the model.</summary>
    public required string Description { get; init; }

    /// <summary>
    /// A JSON Schema object (<c>"type": "object"</c>) for the arguments; unset means no arguments.
    /// A destructive tool's listed schema also has the <c>approve</c> boolean (see <see cref="Destructive"/>).
    /// </summary>
    public JsonElement InputSchema { get; init; }

    /// <summary>An optional JSON Schema object for <see cref="McpToolResult.Structured"/> (listed to MCP 2025-06-18 and later clients).</summary>
    public JsonElement? OutputSchema { get; init; }

    /// <summary>Behaviour hints listed with the tool.</summary>
    public McpToolAnnotations? Annotations { get; init; }

    /// <summary>
    /// The tool changes or deletes state a human must approve. The server runs it only when the call
    /// has <c>approve: true</c> (listed in its input schema), or when the client supports elicitation and
    /// its user accepts the server's question; otherwise the call is refused and <see cref="Handler"/>
    /// is not invoked.
    /// </summary>
    public bool Destructive { get; init; }

    /// <summary>Runs the tool. Throw <see cref="McpToolException"/> for an error the model should see; the token is cancelled when the client cancels the call or the server stops.</summary>
    public required Func<McpToolCall, CancellationToken, ValueTask<McpToolResult>> Handler { get; init; }
}
