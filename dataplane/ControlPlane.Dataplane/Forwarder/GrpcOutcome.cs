using Microsoft.AspNetCore.Http.Features;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// What a relayed gRPC call's status means as HTTP. A gRPC call answers HTTP 200 whatever happened;
/// its status is <c>grpc-status</c>, in the trailers (or the headers of a Trailers-Only answer). So
/// that an instance failing every call counts as failing (requests by status class, load reports,
/// passive health), the node reads it there and counts the call by the HTTP status the status maps
/// to, as Envoy maps it (UNAVAILABLE 503, INTERNAL 500, DEADLINE_EXCEEDED 504, NOT_FOUND 404 ...).
/// </summary>
internal static class GrpcOutcome
{
    /// <summary>The HTTP status the relayed call counts as: <paramref name="httpStatus"/> when it carries no readable grpc-status.</summary>
    public static int CountedStatus(HttpContext http, int httpStatus) =>
        httpStatus == StatusCodes.Status200OK && GrpcStatus(http) is { } code ? HttpStatusOf(code) : httpStatus;

    /// <summary>
    /// The status passive health judges the instance by: as counted, except DEADLINE_EXCEEDED and
    /// UNIMPLEMENTED, which say more about the caller (its deadline ended a stream that was running, or
    /// it called a method this service lacks) than about the instance's health. A call the instance
    /// never answered within its deadline is judged by the node's own timeout instead.
    /// </summary>
    public static int HealthStatus(HttpContext http, int httpStatus) =>
        httpStatus == StatusCodes.Status200OK && GrpcStatus(http) is { } code
            ? code is 4 or 12 ? StatusCodes.Status200OK : HttpStatusOf(code)
            : httpStatus;

    private static int? GrpcStatus(HttpContext http)
    {
        var value = http.Features.Get<IHttpResponseTrailersFeature>()?.Trailers["grpc-status"] ?? default;
        if (value.Count == 0)
        {
            value = http.Response.Headers["grpc-status"];
        }
        return value.Count == 1 && int.TryParse(value[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var code)
            ? code
            : null;
    }

    /// <summary>gRPC status code to HTTP status (Envoy's Grpc::Utility::grpcToHttpStatus).</summary>
    public static int HttpStatusOf(int grpcStatus) => grpcStatus switch
    {
        0 => 200,
        1 => 499,  // CANCELLED
        2 => 500,  // UNKNOWN
        3 => 400,  // INVALID_ARGUMENT
        4 => 504,  // DEADLINE_EXCEEDED
        5 => 404,  // NOT_FOUND
        6 => 409,  // ALREADY_EXISTS
        7 => 403,  // PERMISSION_DENIED
        8 => 429,  // RESOURCE_EXHAUSTED
        9 => 400,  // FAILED_PRECONDITION
        10 => 409, // ABORTED
        11 => 400, // OUT_OF_RANGE
        12 => 501, // UNIMPLEMENTED
        13 => 500, // INTERNAL
        14 => 503, // UNAVAILABLE
        15 => 500, // DATA_LOSS
        16 => 401, // UNAUTHENTICATED
        _ => 500,
    };
}
