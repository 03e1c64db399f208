using Microsoft.AspNetCore.Http.Features;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// Splits <c>/g/{image}/{path...}</c> (the proxy branch sees <c>/{image}/{path...}</c>, with
/// <c>/g</c> in PathBase) into the image and the upstream path-and-query.
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
    /// <summary>False when the path names no image (<c>/g</c>, <c>/g/</c>).</summary>
    public static bool TryParse(HttpRequest request, out ReadOnlySpan<char> image, out string pathAndQuery)
    {
        var path = request.Path.Value.AsSpan();
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
        var rest = slash < 0 ? ReadOnlySpan<char>.Empty : path[(slash + 1)..];
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
        // "/g" (any case, as the branch matched it), then "/{image}", then the rest.
        var prefix = request.PathBase.Value ?? "";
        var prefixLength = prefix.Length;
        if (raw.Length < prefixLength + 2 || !raw.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) || raw[prefixLength] != '/')
        {
            return null; // the prefix itself was escaped: use the parsed path
        }
        var afterPrefix = raw[(prefixLength + 1)..];
        var slash = afterPrefix.IndexOf('/');
        return slash < 0 ? "/" : afterPrefix[slash..].ToString();
    }
}
