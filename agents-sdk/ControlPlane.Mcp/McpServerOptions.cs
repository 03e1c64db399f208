namespace ControlPlane.Mcp;

/// <summary>What one MCP server offers, and to whom: an immutable snapshot, checked when the server is built.</summary>
public sealed record McpServerOptions
{
    /// <summary>The agent identity this server runs for (e.g. <c>lb-stats-agent</c>): the allow-list entry that applies.</summary>
    public required string Agent { get; init; }

    /// <summary>The tools each agent may see and call.</summary>
    public required McpAllowList AllowList { get; init; }

    /// <summary>Every tool the host offers; each agent sees those its allow-list grants.</summary>
    public IReadOnlyList<McpTool> Tools { get; init; } = [];

    /// <summary>The prompts offered (all agents see them).</summary>
    public IReadOnlyList<McpPrompt> Prompts { get; init; } = [];

    /// <summary><c>serverInfo.name</c>.</summary>
    public string ServerName { get; init; } = "controlplane-mcp";

    /// <summary><c>serverInfo.version</c>; the assembly's version when unset.</summary>
    public string? ServerVersion { get; init; }

    /// <summary><c>serverInfo.title</c> (MCP 2025-06-18 and later).</summary>
    public string? ServerTitle { get; init; }

    /// <summary><c>instructions</c> for the model, returned by <c>initialize</c>.</summary>
    public string? Instructions { get; init; }

    /// <summary>
    /// The largest message (one line, in bytes) read; a longer line is answered with an Invalid
    /// Request error and skipped, and the server keeps reading. Default 1 MiB.
    /// </summary>
    public int MaxMessageBytes { get; init; } = 1 << 20;

    /// <summary>How many <c>tools/call</c> run at once; a call beyond that is answered with an error at once. Default 16.</summary>
    public int MaxConcurrentCalls { get; init; } = 16;

    /// <summary>How many tools or prompts one list page holds before a <c>nextCursor</c>. Default 100.</summary>
    public int PageSize { get; init; } = 100;

    /// <summary>
    /// Ask the client's user to approve a destructive call sent without <c>approve: true</c>, when the
    /// client supports elicitation (MCP 2025-06-18 and later). Default true; when false, or the client
    /// cannot, such a call is refused.
    /// </summary>
    public bool ElicitApproval { get; init; } = true;

    /// <summary>How long an approval question waits for the user before the call is refused. Default 5 minutes.</summary>
    public TimeSpan ApprovalTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// When the input ends, how long calls still running may take to finish and be answered before
    /// they are cancelled. Default 10 s.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
