namespace ControlPlane.LoadBalancing.Internal;

/// <summary>
/// Cookie lookup in a Cookie request header, by RFC 6265: the header is <c>name=value</c> pairs
/// separated by ';' (§4.2.1); names are case-sensitive and compared exactly; values are opaque
/// (the RFC never percent-decodes them) except that one pair of surrounding double quotes is not
/// part of the value (§4.1.1 cookie-value). Parsed leniently, as §5.2 asks of user agents: spaces and
/// tabs around a name or value are dropped, a piece without '=' is skipped, and a value keeps
/// whatever it holds (a space, a comma) rather than the cookie being dropped.
/// </summary>
internal static class CookieHeader
{
    /// <summary>The value of the first cookie named <paramref name="name"/> in <paramref name="header"/>, or null. Allocates only the value found.</summary>
    public static string? Find(string? header, string name)
    {
        if (string.IsNullOrEmpty(header))
        {
            return null;
        }
        var rest = header.AsSpan();
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf(';');
            var pair = end < 0 ? rest : rest[..end];
            rest = end < 0 ? default : rest[(end + 1)..];
            var equals = pair.IndexOf('=');
            if (equals < 0 || !Trim(pair[..equals]).SequenceEqual(name))
            {
                continue;
            }
            var value = Trim(pair[(equals + 1)..]);
            if (value.Length >= 2 && value[0] == '"' && value[^1] == '"')
            {
                value = value[1..^1];
            }
            return value.ToString();
        }
        return null;
    }

    private static ReadOnlySpan<char> Trim(ReadOnlySpan<char> s) => s.Trim(" \t");
}
