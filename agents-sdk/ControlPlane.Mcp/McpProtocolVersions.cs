namespace ControlPlane.Mcp;

/// <summary>
/// The MCP revisions this server speaks. A revision is named by the date of its last backwards
/// incompatible change (YYYY-MM-DD), so they order as strings.
/// </summary>
public static class McpProtocolVersions
{
    /// <summary>2025-11-25: tool input validation errors become tool execution errors (SEP-1303); elicitation modes.</summary>
    public const string V2025_11_25 = "2025-11-25";

    /// <summary>2025-06-18: JSON-RPC batches removed; structured tool output, titles, elicitation.</summary>
    public const string V2025_06_18 = "2025-06-18";

    /// <summary>2025-03-26: JSON-RPC batches (receivers must accept them); tool annotations.</summary>
    public const string V2025_03_26 = "2025-03-26";

    /// <summary>2024-11-05: the first revision.</summary>
    public const string V2024_11_05 = "2024-11-05";

    /// <summary>The newest revision supported: the answer to a client asking for one we do not know.</summary>
    public const string Latest = V2025_11_25;

    /// <summary>Every supported revision, newest first.</summary>
    public static IReadOnlyList<string> Supported { get; } = [V2025_11_25, V2025_06_18, V2025_03_26, V2024_11_05];

    /// <summary>Whether <paramref name="version"/> is at least <paramref name="revision"/>.</summary>
    internal static bool AtLeast(string version, string revision) => string.CompareOrdinal(version, revision) >= 0;
}
