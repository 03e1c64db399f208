using System.Buffers;
using System.Text.Json;
using ControlPlane.Grpc.Protocol;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>Writes a whole JSON response: status, headers from call metadata, Content-Length and the body.</summary>
internal static class JsonResponse
{
    public const string ContentType = "application/json; charset=utf-8";

    /// <summary>Renders the body first, so a rendering failure can still be answered cleanly.</summary>
    public static ArrayBufferWriter<byte> Render(Action<Utf8JsonWriter> write)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using var writer = new Utf8JsonWriter(buffer, ProtoJsonWriter.WriterOptions);
        write(writer);
        writer.Flush();
        return buffer;
    }

    public static Task WriteAsync(HttpContext http, int statusCode, ArrayBufferWriter<byte> body, IEnumerable<Metadata.Entry> headers)
    {
        var response = http.Response;
        response.StatusCode = statusCode;
        response.ContentType = ContentType;
        response.ContentLength = body.WrittenCount;
        AddHeaders(response, headers);
        return response.Body.WriteAsync(body.WrittenMemory, http.RequestAborted).AsTask();
    }

    /// <summary>
    /// Call metadata becomes response headers (REST has no trailers to carry it); binary values go as
    /// base64, and names HTTP itself owns (Content-Type, Content-Length ...) are skipped.
    /// </summary>
    public static void AddHeaders(HttpResponse response, IEnumerable<Metadata.Entry> headers)
    {
        foreach (var entry in headers)
        {
            if (!GrpcProtocol.IsReservedHeader(entry.Key))
            {
                response.Headers.Append(entry.Key, MetadataEncoding.WireValue(entry));
            }
        }
    }
}
