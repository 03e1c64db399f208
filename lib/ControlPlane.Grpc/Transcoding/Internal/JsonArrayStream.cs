using System.Text.Json;
using Google.Protobuf;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// The response of a server-streaming method over REST: one JSON array, each message an element
/// written and flushed as the handler sends it, so a client can read it incrementally. The HTTP
/// status (200) and headers leave with the first element.
/// </summary>
internal sealed class JsonArrayStream(HttpContext http, TranscodedMethodContext method) : IDisposable
{
    private Utf8JsonWriter? _writer;

    public bool Started => _writer is not null;

    public async Task WriteAsync(IMessage message, IEnumerable<Metadata.Entry> headers, CancellationToken cancellationToken)
    {
        var writer = Start(headers);
        method.WriteResponse(writer, message);
        writer.Flush();
        await http.Response.BodyWriter.FlushAsync(cancellationToken);
    }

    public async Task CompleteAsync(IEnumerable<Metadata.Entry> headers, IEnumerable<Metadata.Entry> lateTrailers)
    {
        var writer = Start(headers);
        writer.WriteEndArray();
        writer.Flush();
        if (http.Response.SupportsTrailers())
        {
            foreach (var entry in lateTrailers)
            {
                http.Response.AppendTrailer(entry.Key, Protocol.MetadataEncoding.WireValue(entry));
            }
        }
        await http.Response.BodyWriter.FlushAsync(http.RequestAborted);
    }

    public void Dispose() => _writer?.Dispose();

    private Utf8JsonWriter Start(IEnumerable<Metadata.Entry> headers)
    {
        if (_writer is not null)
        {
            return _writer;
        }
        var response = http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = JsonResponse.ContentType;
        JsonResponse.AddHeaders(response, headers);
        _writer = new Utf8JsonWriter(response.BodyWriter, ProtoJsonWriter.WriterOptions);
        _writer.WriteStartArray();
        return _writer;
    }
}
