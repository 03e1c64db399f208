using ControlPlane.LoadBalancing.Internal;

namespace ControlPlane.LoadBalancing;

/// <summary>
/// A request as sent, for the sticky-key lookup (the dataplane's request, the preview's maps). The
/// source hands over the raw Cookie header(s) and query string; <see cref="StickyValue.Find"/> reads
/// them, so every node and the route preview apply the same rules.
/// </summary>
public interface IStickySource
{
    /// <summary>The (first) value of request header <paramref name="name"/>, matched case-insensitively (RFC 9110 §5.1), or null.</summary>
    string? GetHeader(string name);

    /// <summary>How many Cookie header fields the request carries (HTTP/2 and HTTP/3 may split the cookies over several, RFC 9113 §8.2.3).</summary>
    int CookieHeaderCount { get; }

    /// <summary>The Cookie header field at <paramref name="index"/>, as sent.</summary>
    string? GetCookieHeader(int index);

    /// <summary>The query string as sent (percent-encoded), with or without its leading '?'; null or empty when none.</summary>
    string? QueryString { get; }
}

/// <summary>Where a sticky value was found.</summary>
public enum StickyValueSource
{
    None,
    Header,
    Cookie,
    Query,
}

/// <summary>A sticky value and where it came from; <see cref="Value"/> is empty when none was found.</summary>
public readonly record struct StickyValue(string Value, StickyValueSource Source)
{
    public static StickyValue None { get; } = new("", StickyValueSource.None);

    public bool Found => Source != StickyValueSource.None;

    /// <summary>
    /// The value of <paramref name="stickyKey"/> in the request, as resources.proto orders the lookup:
    /// a header of that name (names case-insensitive, as HTTP has them), then a cookie (name matched
    /// exactly, RFC 6265; the first of that name; the value as sent, one pair of surrounding double
    /// quotes removed, never percent-decoded), then a query parameter (name matched exactly; the
    /// first of that name; name and value decoded as form data: '+' is a space, %XX are UTF-8 bytes).
    /// An empty value counts as absent (the lookup goes on). Generic so a struct source is not boxed
    /// on the hot path (hence no null check, which would box it in unoptimized builds); a lookup that
    /// finds nothing, or finds a header, allocates nothing.
    /// </summary>
    public static StickyValue Find<TSource>(string? stickyKey, TSource source)
        where TSource : IStickySource
    {
        if (string.IsNullOrEmpty(stickyKey))
        {
            return None;
        }
        if (source.GetHeader(stickyKey) is { Length: > 0 } header)
        {
            return new(header, StickyValueSource.Header);
        }
        for (var i = 0; i < source.CookieHeaderCount; i++)
        {
            if (CookieHeader.Find(source.GetCookieHeader(i), stickyKey) is { } cookie)
            {
                if (cookie.Length > 0)
                {
                    return new(cookie, StickyValueSource.Cookie);
                }
                break; // the first cookie of that name wins, even empty
            }
        }
        if (FormQuery.Find(source.QueryString, stickyKey) is { Length: > 0 } query)
        {
            return new(query, StickyValueSource.Query);
        }
        return None;
    }
}

/// <summary>
/// The route preview's request as a sticky source: its <c>headers</c>, <c>cookies</c> and
/// <c>query</c> maps, written out as a node would receive them. The Cookie header(s) among the
/// headers come first, then the cookies as one more Cookie header (<c>name=value; ...</c>); the query
/// parameters become the query string (<c>name=value&amp;...</c>). Cookie and query names and values
/// are therefore taken as they appear on the wire: a query value is percent-decoded, a cookie value is not.
/// </summary>
public sealed class DictionaryStickySource : IStickySource
{
    private readonly KeyValuePair<string, string>[] _headers;
    private readonly string[] _cookieHeaders;

    public DictionaryStickySource(
        IEnumerable<KeyValuePair<string, string>>? headers,
        IEnumerable<KeyValuePair<string, string>>? cookies,
        IEnumerable<KeyValuePair<string, string>>? query)
    {
        _headers = headers?.ToArray() ?? [];
        var cookieHeaders = _headers.Where(h => string.Equals(h.Key, "Cookie", StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).ToList();
        if (cookies?.Select(c => $"{c.Key}={c.Value}").ToArray() is { Length: > 0 } pairs)
        {
            cookieHeaders.Add(string.Join("; ", pairs));
        }
        _cookieHeaders = [.. cookieHeaders];
        QueryString = string.Join('&', (query ?? []).Select(q => $"{q.Key}={q.Value}"));
    }

    public int CookieHeaderCount => _cookieHeaders.Length;

    public string? QueryString { get; }

    public string? GetHeader(string name)
    {
        // HTTP header names are case-insensitive; an exact match wins over another spelling.
        string? found = null;
        foreach (var (key, value) in _headers)
        {
            if (string.Equals(key, name, StringComparison.Ordinal))
            {
                return value;
            }
            if (found is null && string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                found = value;
            }
        }
        return found;
    }

    public string? GetCookieHeader(int index) => _cookieHeaders[index];
}
