namespace ControlPlane.Mcp.Internal;

internal static class Text
{
    /// <summary>A string the client sent, cut short for a message or a log line.</summary>
    public static string Shorten(string? value, int max = 100) =>
        value is null ? "" : value.Length <= max ? value : value[..max] + "...";
}
