using ControlPlane.Grpc.Protocol;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// Gives the answers endpoint routing makes on its own the shape of the REST errors: an unknown path
/// (404), a method the path does not take (405, with its <c>Allow</c>) and any other 404, 405, 413 or
/// 415 left without a body get the JSON error body of a transcoded call; OPTIONS on a mapped path is
/// 204 with <c>Allow</c> (RFC 9110 §9.3.7). gRPC requests are left alone: their errors are statuses.
/// </summary>
internal sealed class RestFallbackMiddleware(RequestDelegate next, JsonTypeResolver types)
{
    private readonly ErrorResponseWriter _errors = new(new ProtoJsonWriter(types));

    public async Task InvokeAsync(HttpContext http)
    {
        await next(http);
        var response = http.Response;
        if (response.HasStarted || GrpcProtocol.IsGrpcContentType(http.Request.ContentType))
        {
            return;
        }
        var method = http.Request.Method;
        switch (response.StatusCode)
        {
            case StatusCodes.Status405MethodNotAllowed when HttpMethods.IsOptions(method):
                // Routing found the path, and no endpoint of it takes OPTIONS: routing's Allow is the answer.
                response.StatusCode = StatusCodes.Status204NoContent;
                response.Headers.Allow = WithOptions(response.Headers.Allow);
                break;
            case StatusCodes.Status405MethodNotAllowed:
                // RFC 9110 §15.5.6: a 405 lists the methods the target supports.
                var allow = WithOptions(response.Headers.Allow);
                response.Headers.Allow = allow;
                await WriteAsync(http, $"The method {method} is not allowed on this path; it allows {allow}.");
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

    private Task WriteAsync(HttpContext http, string message)
    {
        var status = TranscodingErrors.HttpRefusal(http.Response.StatusCode, message);
        return JsonResponse.WriteAsync(http, http.Response.StatusCode, JsonResponse.Render(w => _errors.Write(w, status)), []);
    }

    /// <summary>Routing's Allow, which lists the mapped methods, with OPTIONS, which this middleware serves on every mapped path.</summary>
    private static string WithOptions(StringValues allow)
    {
        var methods = allow.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToList();
        if (!methods.Contains(HttpMethods.Options, StringComparer.OrdinalIgnoreCase))
        {
            methods.Add(HttpMethods.Options);
        }
        return string.Join(", ", methods);
    }
}
