namespace ControlPlane.Mcp;

/// <summary>
/// Hints about a tool's behaviour, listed as the tool's <c>annotations</c> (MCP 2025-03-26 and later).
/// They are hints for clients; the server enforces only <see cref="McpTool.Destructive"/>.
/// <c>destructiveHint</c> is not set here: it is always <see cref="McpTool.Destructive"/>, and is
/// always listed, because MCP's default for an absent <c>destructiveHint</c> is <c>true</c>.
/// </summary>
public sealed record McpToolAnnotations
{
    /// <summary>A human-readable title (<c>annotations.title</c>).</summary>
    public string? Title { get; init; }

    /// <summary>The tool does not modify its environment (<c>readOnlyHint</c>).</summary>
    public bool? ReadOnly { get; init; }

    /// <summary>Calling it again with the same arguments has no further effect (<c>idempotentHint</c>).</summary>
    public bool? Idempotent { get; init; }

    /// <summary>The tool reaches an open world of external entities (<c>openWorldHint</c>).</summary>
    public bool? OpenWorld { get; init; }
}
