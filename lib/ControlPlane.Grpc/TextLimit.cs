namespace ControlPlane.Grpc;

/// <summary>Bounds text that echoes what a peer sent (status messages, errors kept or logged).</summary>
public static class TextLimit
{
    /// <summary>
    /// <paramref name="text"/> when it has at most <paramref name="maxChars"/> characters; else its first
    /// <paramref name="maxChars"/> (one fewer rather than half a surrogate pair) followed by "...".
    /// </summary>
    public static string Cut(string text, int maxChars)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxChars, 1);
        if (text.Length <= maxChars)
        {
            return text;
        }
        var kept = char.IsHighSurrogate(text[maxChars - 1]) ? maxChars - 1 : maxChars;
        return string.Concat(text.AsSpan(0, kept), "...");
    }
}
