namespace ControlPlane.LoadBalancing;

/// <summary>Where a request carries the attributes a sticky key may name (the dataplane's request, the preview's maps).</summary>
public interface IStickySource
{
    /// <summary>The value of request header <paramref name="name"/> (names are case-insensitive), or null.</summary>
    string? GetHeader(string name);

    /// <summary>The value of cookie <paramref name="name"/>, or null.</summary>
    string? GetCookie(string name);

    /// <summary>The value of query parameter <paramref name="name"/>, or null.</summary>
    string? GetQuery(string name);
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
    /// a header of that name, then a cookie, then a query parameter. An empty value counts as absent
    /// (the lookup goes on). Generic so a struct source is not boxed on the hot path (hence no null
    /// check, which would box it in unoptimized builds).
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
        if (source.GetCookie(stickyKey) is { Length: > 0 } cookie)
        {
            return new(cookie, StickyValueSource.Cookie);
        }
        if (source.GetQuery(stickyKey) is { Length: > 0 } query)
        {
            return new(query, StickyValueSource.Query);
        }
        return None;
    }
}

/// <summary>A sticky source over plain maps (the route preview's <c>headers</c>, <c>cookies</c> and <c>query</c>).</summary>
public sealed class DictionaryStickySource(
    IEnumerable<KeyValuePair<string, string>>? headers,
    IEnumerable<KeyValuePair<string, string>>? cookies,
    IEnumerable<KeyValuePair<string, string>>? query) : IStickySource
{
    public string? GetHeader(string name)
    {
        // HTTP header names are case-insensitive; an exact match wins over another spelling.
        string? found = null;
        foreach (var (key, value) in headers ?? [])
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

    public string? GetCookie(string name) => Exact(cookies, name);

    public string? GetQuery(string name) => Exact(query, name);

    private static string? Exact(IEnumerable<KeyValuePair<string, string>>? map, string name)
    {
        if (map is IReadOnlyDictionary<string, string> dictionary)
        {
            return dictionary.TryGetValue(name, out var value) ? value : null;
        }
        foreach (var (key, value) in map ?? [])
        {
            if (string.Equals(key, name, StringComparison.Ordinal))
            {
                return value;
            }
        }
        return null;
    }
}
