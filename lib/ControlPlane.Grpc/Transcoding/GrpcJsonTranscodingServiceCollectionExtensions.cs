using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Transcoding.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace ControlPlane.Grpc.Transcoding;

public static class GrpcJsonTranscodingServiceCollectionExtensions
{
    /// <summary>
    /// Serves every method that carries a <c>google.api.http</c> option as REST too: from then on,
    /// <see cref="GrpcServerExtensions.MapGrpcService{THandler}"/> also maps the HTTP routes of the
    /// service's rules (with their additional_bindings), run through the same interceptors and handler
    /// as gRPC calls. Also adds the gRPC server runtime (<see cref="GrpcServerExtensions.AddGrpcServer"/>).
    /// </summary>
    /// <remarks>
    /// The REST contract, where google/api/http.proto and proto3 JSON leave a choice:
    /// <list type="bullet">
    /// <item>Response JSON uses proto field names, 64-bit integers as JSON numbers, and writes every field
    /// without presence even at its default; message fields, oneof members and proto3 <c>optional</c>
    /// fields are written only when set. Server-streaming methods answer one JSON array, written as
    /// messages are sent; an error after the first message aborts the response.</item>
    /// <item>Errors answer the HTTP status mapped from the gRPC code with a <c>google.rpc.Status</c> JSON
    /// body whose details always hold a <c>google.rpc.ErrorInfo</c> (its <c>reason</c> derived from the
    /// code when the handler gave none). Requests the transcoder cannot bind are 400 with reason
    /// <c>invalid_request</c> and BadRequest violations, at most <see cref="RpcErrors.MaxFieldViolations"/>
    /// of them (the message says when there were more); a non-JSON body is 415 and a body over
    /// <see cref="GrpcJsonTranscodingOptions.MaxRequestBodySize"/> 413 (both INVALID_ARGUMENT, reasons
    /// <c>unsupported_media_type</c> and <c>payload_too_large</c>), before interceptors run.</item>
    /// <item>Request headers are the call's <see cref="ServerCallContext.RequestHeaders"/>; response
    /// headers and trailers are sent as HTTP response headers. A body may repeat a field the path binds
    /// only with the same value; a key given twice in one JSON object, unknown query parameters,
    /// query names or values that are not percent-encoded UTF-8, and unknown body fields are errors. A
    /// rule without <c>body</c> serves a request with no body, only whitespace or <c>{}</c>; any other
    /// body is 400 (its fields go in the query string), decided from its first 64 bytes.</item>
    /// <item>A GET rule also serves HEAD (the GET answer without its body). With
    /// <see cref="JsonTranscodingApplicationBuilderExtensions.UseJsonTranscodingFallbacks"/>, unknown
    /// paths and routing's 405s answer the same JSON error body and OPTIONS lists a path's methods.
    /// Errors Kestrel answers before any middleware runs (a malformed request line, a path with %00,
    /// 414, 431, a duplicate Content-Type) stay Kestrel's: an empty 400 or its own status, no JSON body.</item>
    /// </list>
    /// </remarks>
    public static IServiceCollection AddGrpcJsonTranscoding(this IServiceCollection services, Action<GrpcJsonTranscodingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddGrpcServer();
        services.AddOptions<GrpcJsonTranscodingOptions>().Validate(o => o.MaxRequestBodySize > 0, "MaxRequestBodySize must be positive.");
        if (configure is not null)
        {
            services.Configure(configure);
        }
        services.TryAddSingleton<JsonTypeResolver>();
        services.TryAddSingleton<TranscodedRouteTable>();
        services.TryAddSingleton<TranscodingEndpointMapper>();
        return services;
    }
}
