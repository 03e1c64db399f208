using ControlPlane.Grpc.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Gives the answers endpoint routing makes on its own the shape of the REST errors: an unknown path
/// (404), a method the path does not take (405, with its <c>Allow</c>) and any other 404, 405, 413 or
/// 415 left without a body get the JSON error body of a transcoded call; OPTIONS on a mapped path is
/// 204 with <c>Allow</c> (RFC 9110 §9.3.7). A path is known by the exact template match a GET
/// dispatch makes, not by routing's looser one (letter case, trailing slash), and a method only by its
/// exact token (RFC 9110 §9.1: "get" is not GET). Real gRPC requests (HTTP/2 with a gRPC content
/// type) are left alone: their errors are statuses.
/// </summary>
internal sealed class RestFallbackMiddleware(RequestDelegate next, JsonTypeResolver types, TranscodedRouteTable routes)
{
    private readonly ErrorResponseWriter _errors = new(new ProtoJsonWriter(types));

    public async Task InvokeAsync(HttpContext http)
    {
        var method = http.Request.Method;
        if (HttpMethodToken.IsMiscased(method) && http.GetEndpoint()?.Metadata.GetMetadata<IHttpMethodMetadata>() is { } taken)
        {
            // Routing matched the method ignoring case: answer as routing would for a method the endpoint does not take.
            http.SetEndpoint(null);
            http.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            await AnswerMethodNotAllowedAsync(http, method, taken.HttpMethods);
            return;
        }
        await next(http);
        var response = http.Response;
        if (response.HasStarted || GrpcProtocol.IsGrpcRequest(http.Request))
        {
            return;
        }
        switch (response.StatusCode)
        {
            case StatusCodes.Status405MethodNotAllowed:
                await AnswerMethodNotAllowedAsync(http, method, Split(response.Headers.Allow));
                break;
            case StatusCodes.Status404NotFound:
                await WriteAsync(http, "Nothing is served at this path.");
                break;
            case StatusCodes.Status413PayloadTooLarge:
                await WriteAsync(http, "The request body is too large.");
                break;
            case StatusCodes.Status415UnsupportedMediaType:
                await WriteAsync(http, "The request body's Content-Type is not supported; send JSON as 'application/json'.");
                break;
        }
    }

    /// <summary>
    /// A 405 with routing's <paramref name="routed"/> methods: of the REST routes' methods, only those whose
    /// template matches the path exactly stay; none left is a 404, as GET on that path answers.
    /// </summary>
    private Task AnswerMethodNotAllowedAsync(HttpContext http, string method, IEnumerable<string> routed)
    {
        var response = http.Response;
        var loose = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var exact = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        routes.Match(http.Request, loose, exact);
        // Routing's order kept (it sorts); a method only a loosely matched REST route takes is dropped.
        var methods = routed.Where(m => !loose.Contains(m) || exact.Contains(m)).Concat(exact).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
        if (methods.Count == 0)
        {
            response.Headers.Allow = default;
            response.StatusCode = StatusCodes.Status404NotFound;
            return WriteAsync(http, "Nothing is served at this path.");
        }
        // RFC 9110 §15.5.6: a 405 lists the methods the target supports; OPTIONS is served here on every known path.
        if (!methods.Contains(HttpMethods.Options, StringComparer.OrdinalIgnoreCase))
        {
            methods.Add(HttpMethods.Options);
        }
        var allow = string.Join(", ", methods);
        response.Headers.Allow = allow;
        if (ReferenceEquals(method, HttpMethods.Options) || string.Equals(method, HttpMethods.Options, StringComparison.Ordinal))
        {
            response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        }
        response.StatusCode = StatusCodes.Status405MethodNotAllowed;
        return WriteAsync(http, $"The method {EchoedValue.Cap(method)} is not allowed on this path; it allows {allow}.");
    }

    private Task WriteAsync(HttpContext http, string message)
    {
        var status = TranscodingErrors.HttpRefusal(http.Response.StatusCode, message);
        return JsonResponse.WriteAsync(http, http.Response.StatusCode, JsonResponse.Render(w => _errors.Write(w, status)), []);
    }

    private static IEnumerable<string> Split(StringValues allow) =>
        allow.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
}
