using ControlPlane.Grpc.Transcoding.Internal;
using Microsoft.AspNetCore.Builder;

namespace ControlPlane.Grpc.Transcoding;

public static class JsonTranscodingApplicationBuilderExtensions
{
    /// <summary>
    /// Makes the whole HTTP surface answer like the REST routes: a 404 (unknown path), 405 (a path that
    /// does not take the method; its <c>Allow</c> also names OPTIONS), 413 or 415 that would go out
    /// without a body gets the <c>google.rpc.Status</c> JSON body of the transcoded calls (reason
    /// <c>not_found</c>, <c>invalid_request</c>, <c>payload_too_large</c>, <c>unsupported_media_type</c>),
    /// and OPTIONS on any mapped path is 204 with <c>Allow</c>. Requires <c>AddGrpcJsonTranscoding</c>.
    /// Without it, the app's unknown paths and routing's 405s stay as ASP.NET Core answers them.
    /// </summary>
    public static IApplicationBuilder UseJsonTranscodingFallbacks(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return app.UseMiddleware<RestFallbackMiddleware>();
    }
}
