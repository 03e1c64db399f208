using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// The request path as the client sent it, still percent-encoded. <see cref="HttpRequest.Path"/> is
/// already decoded (all but "%2F"), which loses the difference between "%252F" and "%2F" that the
/// google.api.http decoding rules depend on.
/// </summary>
internal static class RawRequestPath
{
    public static string Get(HttpRequest request)
    {
        var raw = request.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw) || raw[0] != '/')
        {
            // No raw target (test hosts) or absolute-form: fall back to the escaped decoded path.
            return request.Path.ToUriComponent();
        }
        var query = raw.IndexOf('?', StringComparison.Ordinal);
        var path = query < 0 ? raw : raw[..query];
        if (request.PathBase.HasValue)
        {
            // Routing matched the path below PathBase: drop as many raw segments as PathBase has.
            var skip = request.PathBase.Value!.Count(c => c == '/');
            var index = 0;
            for (var i = 0; i < skip && index >= 0; i++)
            {
                index = path.IndexOf('/', index + 1);
            }
            path = index < 0 ? "/" : path[index..];
        }
        return path;
    }
}
