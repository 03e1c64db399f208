using Microsoft.AspNetCore.Http.Features;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// Splits <c>/g/{image}/{path...}</c> into the image and the upstream path-and-query. The mount
/// <c>/g</c> matches in any case, as a path segment (<c>/g</c>, <c>/g/...</c>, not <c>/gx</c>).
/// </summary>
/// <remarks>
/// Routing uses Kestrel's decoded and normalized path, so <c>/g/a/../b/x</c> is image <c>b</c> and
/// no dot-segment can climb out of an image. The upstream path is the client's raw path when that
/// was already normal (no dot-segments, no backslash), so escapes reach the instance exactly as
/// sent: <c>%2F</c> stays an escaped slash and <c>%252F</c> is not turned into one (decoding and
/// re-encoding cannot tell them apart). Otherwise it is the normalized path, re-escaped.
/// The query is always passed as received.
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
        var raw = RawRest(request);
        var upstreamPath = raw ?? (rest.IsEmpty ? "/" : new PathString(rest.ToString()).ToUriComponent());
        pathAndQuery = request.QueryString.HasValue ? upstreamPath + request.QueryString.Value : upstreamPath;
        return true;
    }

    /// <summary>The raw request-target after <c>/g/{image}</c> ("/" when nothing follows), or null when it must not be used verbatim.</summary>
    private static string? RawRest(HttpRequest request)
    {
        var target = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(target) || target[0] != '/')
        {
            return null; // absolute-form or asterisk-form: use the parsed path
        }
        var query = target.IndexOf('?', StringComparison.Ordinal);
        var raw = query < 0 ? target.AsSpan() : target.AsSpan(0, query);
        if (raw.Contains('\\') || raw.Contains("/.", StringComparison.Ordinal) || raw.Contains("%2e", StringComparison.OrdinalIgnoreCase))
        {
            return null; // a dot-segment (perhaps escaped) that normalization removed: the raw path would name something else
        }
        // "/g" (any case), then "/{image}", then the rest.
        var prefixLength = Mount.Length;
        if (raw.Length < prefixLength + 2 || !raw.StartsWith(Mount, StringComparison.OrdinalIgnoreCase) || raw[prefixLength] != '/')
        {
            return null; // the prefix itself was escaped: use the parsed path
        }
        var afterPrefix = raw[(prefixLength + 1)..];
        var slash = afterPrefix.IndexOf('/');
        return slash < 0 ? "/" : afterPrefix[slash..].ToString();
    }
}
