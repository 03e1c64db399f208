using System.Globalization;
using System.Text.Json;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Protocol;
using Google.Protobuf;
using Microsoft.AspNetCore.Http.Features;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>Writes the proxy's own answers (<see cref="ProxyErrorCodes"/>): JSON for HTTP callers, a gRPC status for gRPC callers.</summary>
internal static class ProxyErrorWriter
{
    private const string JsonContentType = "application/json; charset=utf-8";

    /// <summary>Writes the answer; returns the body bytes written (0 for gRPC's Trailers-Only answer).</summary>
    /// <param name="grpcCode">For gRPC callers, the status to answer instead of the one derived from <paramref name="statusCode"/>.</param>
    public static async ValueTask<long> WriteAsync(HttpContext http, int statusCode, string code, string detail, bool grpc, StatusCode? grpcCode = null)
    {
        var response = http.Response;
        if (response.HasStarted)
        {
            // Headers are gone already: the only honest signal left is to break the response off.
            http.Abort();
            return 0;
        }
        var requestId = response.Headers[ProxyHeaders.RequestId];
        response.Clear();
        response.Headers[ProxyHeaders.RequestId] = requestId;
        if (grpc)
        {
            WriteGrpcStatus(response, grpcCode ?? GrpcCodeFor(statusCode), code, detail);
            return 0;
        }
        response.StatusCode = statusCode;
        response.ContentType = JsonContentType;
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteString("code", code);
            json.WriteString("detail", detail);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory);
        return buffer.WrittenCount;
    }

    /// <summary>
    /// Trailers-Only (PROTOCOL-HTTP2.md): HTTP 200 and the status in the only HEADERS frame, with
    /// the code gRPC clients would derive from <paramref name="httpStatus"/> themselves.
    /// </summary>
    private static void WriteGrpcStatus(HttpResponse response, StatusCode grpcCode, string code, string detail)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        WriteStatusFields(response.Headers, grpcCode, code, detail);
    }

    /// <summary>
    /// Ends a relayed gRPC call whose response has begun with the node's own status, in its trailers
    /// (the client's protocol must carry them): the fields of the Trailers-Only answer.
    /// </summary>
    public static void WriteGrpcStatusTrailers(HttpResponse response, StatusCode grpcCode, string code, string detail) =>
        WriteStatusFields(response.HttpContext.Features.GetRequiredFeature<IHttpResponseTrailersFeature>().Trailers, grpcCode, code, detail);

    private static void WriteStatusFields(IHeaderDictionary fields, StatusCode grpcCode, string code, string detail)
    {
        var status = RpcErrors.Status(grpcCode, code, detail);
        fields["grpc-status"] = ((int)grpcCode).ToString(CultureInfo.InvariantCulture);
        fields["grpc-message"] = PercentEncoding.Encode(code + ": " + detail);
        if (status.Details is not null)
        {
            fields["grpc-status-details-bin"] = Convert.ToBase64String(status.Details.ToByteArray()).TrimEnd('=');
        }
    }

    /// <summary>doc/http-grpc-status-mapping.md: the status a gRPC client reports for an HTTP status.</summary>
    internal static StatusCode GrpcCodeFor(int httpStatus) => httpStatus switch
    {
        400 => StatusCode.Internal,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.Unimplemented,
        429 or 502 or 503 or 504 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };
}
