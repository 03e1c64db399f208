using Microsoft.AspNetCore.Http.Features;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// Splits <c>/g/{image}/{path...}</c> into the image and the upstream path-and-query. The mount
/// <c>/g</c> matches in any case, as a path segment (<c>/g</c>, <c>/g/...</c>, not <c>/gx</c>).
/// </summary>
/// <remarks>
/// Routing uses Kestrel's decoded and normalized path, so <c>/g/a/../b/x</c> is image <c>b</c> and
/// no dot-segment can climb out of an image. The upstream path is the client's raw path, its
/// dot-segments (<c>%2e</c> counting as a dot, as Kestrel counts it) removed as RFC 3986 §5.2.4 does
/// and a backslash escaped, every other escape left as sent: <c>%2F</c> stays an escaped slash and
/// <c>%252F</c> is not turned into one, so the instance decodes the path exactly once, as the client
/// wrote it (decoding and re-encoding cannot tell <c>%2F</c> from <c>%252F</c>, nor <c>%2e%2e</c>
/// from <c>%252e%252e</c>). A request-target in absolute form (<c>GET http://host/g/...</c>, as
/// clients send to a proxy they are configured to use) is taken the same way, from its path on.
/// Only when the raw path's mount or image is spelled escaped is the decoded path used, re-escaped
/// (every <c>%</c> as <c>%25</c>, then what a path cannot hold), so nothing is decoded twice. The
/// query is passed as received. A fragment (<c>#...</c>), which no request-target may carry, is
/// not sent (nginx drops it too).
/// </remarks>
internal static class ProxyPath
{
    /// <summary>Where the proxy is mounted.</summary>
    public const string Mount = "/g";

    /// <summary>Whether <paramref name="path"/> is under the mount: <c>/g</c> or <c>/g/...</c>, any case.</summary>
    public static bool IsProxied(PathString path) =>
        path.Value is { Length: >= 2 } value && value[0] == '/' && (value[1] | 0x20) == 'g' && (value.Length == 2 || value[2] == '/');

    /// <summary>
    /// <c>X-Forwarded-Prefix</c> for <paramref name="image"/>: <c>/g/{image}</c>, with the mount as
    /// the client spelled it; <paramref name="cached"/> when that is the usual <c>/g/{image}</c>.
    /// </summary>
    public static string ForwardedPrefix(HttpRequest request, string image, string cached) =>
        request.Path.Value!.StartsWith(Mount, StringComparison.Ordinal) ? cached : string.Concat(request.Path.Value.AsSpan(0, Mount.Length), "/", image);

    /// <summary>False when the path names no image (<c>/g</c>, <c>/g/</c>); call for paths that <see cref="IsProxied"/> only.</summary>
    public static bool TryParse(HttpRequest request, out ReadOnlySpan<char> image, out string pathAndQuery)
    {
        var path = request.Path.Value.AsSpan(Mount.Length);
        image = default;
        pathAndQuery = "";
        if (path.Length < 2 || path[0] != '/')
        {
            return false;
        }
        var slash = path[1..].IndexOf('/');
        image = slash < 0 ? path[1..] : path.Slice(1, slash);
        if (image.IsEmpty)
        {
            return false;
        }
        var rest = slash < 0 ? [] : path[(slash + 1)..];
        var target = RawPathAndQuery(request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget, out var fragmentInPath);
        var raw = RawRest(target, image);
        // Percent signs first: the decoded path's own '%' must not pass for an escape.
        var upstreamPath = raw ?? (rest.IsEmpty ? "/" : new PathString(rest.ToString().Replace("%", "%25", StringComparison.Ordinal)).ToUriComponent());
        var query = fragmentInPath ? null : WithoutFragment(request.QueryString.Value);
        pathAndQuery = string.IsNullOrEmpty(query) ? upstreamPath : upstreamPath + query;
        return true;
    }

    /// <summary>
    /// The request-target from its path on (origin form as is; absolute form from the first '/' after
    /// its authority), without a fragment; empty when it has no path (asterisk form, or an absolute
    /// URI without one). <paramref name="fragmentInPath"/>: a '#' came before any '?', so the query is the fragment's.
    /// </summary>
    private static ReadOnlySpan<char> RawPathAndQuery(string? target, out bool fragmentInPath)
    {
        fragmentInPath = false;
        if (string.IsNullOrEmpty(target))
        {
            return [];
        }
        var span = target.AsSpan();
        if (span[0] != '/')
        {
            var scheme = span.IndexOf("://", StringComparison.Ordinal);
            if (scheme <= 0)
            {
                return [];
            }
            var authority = span[(scheme + 3)..];
            var end = authority.IndexOfAny('/', '?', '#');
            if (end < 0 || authority[end] != '/')
            {
                return [];
            }
            span = authority[end..];
        }
        var hash = span.IndexOf('#');
        if (hash >= 0)
        {
            var question = span.IndexOf('?');
            fragmentInPath = question < 0 || hash < question;
            span = span[..hash];
        }
        return span;
    }

    /// <summary>The query up to a fragment: Kestrel keeps a '#' and what follows it in the query string.</summary>
    private static string? WithoutFragment(string? query)
    {
        var hash = query?.IndexOf('#', StringComparison.Ordinal) ?? -1;
        return hash < 0 ? query : query![..hash];
    }

    /// <summary>The raw path after <c>/g/{image}</c> ("/" when nothing follows), dot-segments removed, or null when it cannot be used.</summary>
    private static string? RawRest(ReadOnlySpan<char> target, ReadOnlySpan<char> image)
    {
        if (target.IsEmpty)
        {
            return null; // asterisk-form, or no path: use the parsed path
        }
        var query = target.IndexOf('?');
        var raw = query < 0 ? target : target[..query];
        var normalized = raw.Contains('\\') || raw.Contains("/.", StringComparison.Ordinal) || raw.Contains("%2e", StringComparison.OrdinalIgnoreCase);
        if (normalized)
        {
            raw = RemoveDotSegments(raw);
        }
        // "/g" (any case), then "/{image}", then the rest.
        var prefixLength = Mount.Length;
        if (raw.Length < prefixLength + 2 || !raw.StartsWith(Mount, StringComparison.OrdinalIgnoreCase) || raw[prefixLength] != '/')
        {
            return null; // the prefix itself was escaped: use the parsed path
        }
        var afterPrefix = raw[(prefixLength + 1)..];
        var slash = afterPrefix.IndexOf('/');
        if (normalized && !SameSegment(slash < 0 ? afterPrefix : afterPrefix[..slash], image))
        {
            return null; // the image escaped in the raw path: use the parsed path
        }
        return slash < 0 ? "/" : afterPrefix[slash..].ToString();
    }

    /// <summary>Whether raw segment <paramref name="raw"/> is <paramref name="decoded"/> once its escapes are decoded (as Kestrel decodes a path).</summary>
    private static bool SameSegment(ReadOnlySpan<char> raw, ReadOnlySpan<char> decoded) =>
        raw.Contains('%') ? Uri.UnescapeDataString(raw.ToString()).AsSpan().SequenceEqual(decoded) : raw.SequenceEqual(decoded);

    /// <summary>
    /// RFC 3986 §5.2.4 on a raw path, by segments: "." and ".." (either spelled with <c>%2e</c>, any
    /// case) removed with what ".." climbs over, never above the root; a path ending in one keeps its
    /// trailing slash. A backslash is escaped (<c>%5C</c>), as the decoded path would be re-escaped.
    /// Other escapes stay as they are.
    /// </summary>
    internal static string RemoveDotSegments(ReadOnlySpan<char> path)
    {
        var segments = new List<string>();
        var rest = path[0] == '/' ? path[1..] : path;
        while (true)
        {
            var slash = rest.IndexOf('/');
            var segment = slash < 0 ? rest : rest[..slash];
            var last = slash < 0;
            var dots = DotCount(segment);
            if (dots == 0)
            {
                segments.Add(segment.ToString().Replace("\\", "%5C", StringComparison.Ordinal));
            }
            else
            {
                if (dots == 2 && segments.Count > 0)
                {
                    segments.RemoveAt(segments.Count - 1);
                }
                if (last)
                {
                    segments.Add(""); // "/a/.." is "/a/": the path still ends in a slash
                }
            }
            if (last)
            {
                break;
            }
            rest = rest[(slash + 1)..];
        }
        return "/" + string.Join('/', segments);
    }

    /// <summary>1 for a "." segment, 2 for "..", with <c>%2e</c> for either dot; 0 otherwise.</summary>
    private static int DotCount(ReadOnlySpan<char> segment)
    {
        var dots = 0;
        while (!segment.IsEmpty)
        {
            if (segment[0] == '.')
            {
                segment = segment[1..];
            }
            else if (segment.Length >= 3 && segment.StartsWith("%2e", StringComparison.OrdinalIgnoreCase))
            {
                segment = segment[3..];
            }
            else
            {
                return 0;
            }
            if (++dots > 2)
            {
                return 0;
            }
        }
        return dots;
    }
}
