using System.Net;

namespace ControlPlane.LoadBalancing.Internal;

/// <summary>
/// Query parameter lookup in a query string as sent, read as form data (the WHATWG URL standard's
/// application/x-www-form-urlencoded parser, which is how browsers write a form into the query):
/// parameters are separated by '&amp;', a name and its value by the first '='; in both, '+' is a space
/// and %XX are the bytes of UTF-8 text. Names are compared exactly, after decoding; the first
/// parameter of that name wins. Decodes only the names that need it and the value found.
/// </summary>
internal static class FormQuery
{
    /// <summary>The decoded value of the first parameter named <paramref name="name"/>, or null; a name without '=' has the empty value.</summary>
    public static string? Find(string? query, string name)
    {
        if (string.IsNullOrEmpty(query))
        {
            return null;
        }
        var rest = query.AsSpan();
        if (rest[0] == '?')
        {
            rest = rest[1..];
        }
        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf('&');
            var pair = end < 0 ? rest : rest[..end];
            rest = end < 0 ? default : rest[(end + 1)..];
            var equals = pair.IndexOf('=');
            var key = equals < 0 ? pair : pair[..equals];
            if (!NameMatches(key, name))
            {
                continue;
            }
            var value = equals < 0 ? default : pair[(equals + 1)..];
            return Encoded(value) ? WebUtility.UrlDecode(value.ToString()) : value.ToString();
        }
        return null;
    }

    private static bool NameMatches(ReadOnlySpan<char> key, string name) =>
        Encoded(key) ? string.Equals(WebUtility.UrlDecode(key.ToString()), name, StringComparison.Ordinal) : key.SequenceEqual(name);

    private static bool Encoded(ReadOnlySpan<char> s) => s.ContainsAny('%', '+');
}
