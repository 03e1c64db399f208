using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using ControlPlane.Benchmarks.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ControlPlane.Benchmarks.GrpcRuntime;

/// <summary>
/// The ceiling: plain Kestrel endpoints that put on the wire exactly the bytes our runtime sends
/// for <see cref="BenchHandler"/> (same headers, same length-prefixed messages, same flushes,
/// <c>grpc-status: 0</c> in trailers) with the least work Kestrel allows: no protobuf parsing
/// where the answer doesn't need it, no checks, no per-call state.
/// </summary>
internal static class RawGrpcEndpoints
{
    private static readonly ConcurrentDictionary<int, byte[]> ZeroFrames = new();

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(GrpcFrames.PathOf(nameof(BenchHandler.Unary)), UnaryAsync);
        endpoints.MapPost(GrpcFrames.PathOf(nameof(BenchHandler.ServerStream)), ServerStreamAsync);
        endpoints.MapPost(GrpcFrames.PathOf(nameof(BenchHandler.ClientStream)), ClientStreamAsync);
        endpoints.MapPost(GrpcFrames.PathOf(nameof(BenchHandler.PingPong)), PingPongAsync);
    }

    /// <summary>Echoes the request body, which is the framed response.</summary>
    private static async Task UnaryAsync(HttpContext http)
    {
        var reader = http.Request.BodyReader;
        var request = await ReadToEndAsync(reader);
        var response = http.Response;
        StartResponse(response);
        foreach (var segment in request.Buffer)
        {
            response.BodyWriter.Write(segment.Span);
        }
        reader.AdvanceTo(request.Buffer.End);
        EndResponse(response);
    }

    /// <summary>Writes the requested count of one precomputed frame, flushing each as our runtime does.</summary>
    private static async Task ServerStreamAsync(HttpContext http)
    {
        var reader = http.Request.BodyReader;
        var body = await ReadToEndAsync(reader);
        var request = StreamRequest.Parser.ParseFrom(body.Buffer.Slice(GrpcFrames.HeaderSize));
        reader.AdvanceTo(body.Buffer.End);
        var frame = ZeroFrames.GetOrAdd(request.Size, static size => GrpcFrames.Frame(GrpcFrames.ZeroPayload(size)));

        var response = http.Response;
        StartResponse(response);
        var writer = response.BodyWriter;
        for (var i = 0; i < request.Count; i++)
        {
            writer.Write(frame);
            var flush = await writer.FlushAsync();
            if (flush.IsCompleted || flush.IsCanceled)
            {
                return;
            }
        }
        EndResponse(response);
    }

    /// <summary>Counts the frames (by their length prefixes) and answers the count.</summary>
    private static async Task ClientStreamAsync(HttpContext http)
    {
        var reader = http.Request.BodyReader;
        long messages = 0;
        while (true)
        {
            var result = await reader.ReadAsync();
            var buffer = result.Buffer;
            while (GrpcFrames.TryReadFrame(ref buffer, out _))
            {
                messages++;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }
        var response = http.Response;
        StartResponse(response);
        response.BodyWriter.Write(GrpcFrames.Frame(new StreamSummary { Messages = messages }));
        EndResponse(response);
    }

    /// <summary>Echoes each frame as it arrives, one flush each.</summary>
    private static async Task PingPongAsync(HttpContext http)
    {
        var reader = http.Request.BodyReader;
        var response = http.Response;
        var writer = response.BodyWriter;
        StartResponse(response);
        while (true)
        {
            var result = await reader.ReadAsync();
            var buffer = result.Buffer;
            if (GrpcFrames.TryReadFrame(ref buffer, out var frame))
            {
                foreach (var segment in frame)
                {
                    writer.Write(segment.Span);
                }
                reader.AdvanceTo(buffer.Start);
                var flush = await writer.FlushAsync();
                if (flush.IsCompleted || flush.IsCanceled)
                {
                    return;
                }
                continue;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }
        EndResponse(response);
    }

    /// <summary>Waits for the whole request body; the caller advances past it.</summary>
    private static async ValueTask<ReadResult> ReadToEndAsync(PipeReader reader)
    {
        var result = await reader.ReadAsync();
        while (!result.IsCompleted)
        {
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            result = await reader.ReadAsync();
        }
        return result;
    }

    private static void StartResponse(HttpResponse response)
    {
        response.ContentType = GrpcFrames.ContentType;
        response.Headers[GrpcFrames.AcceptEncodingHeader] = GrpcFrames.AcceptEncoding;
    }

    private static void EndResponse(HttpResponse response) => response.AppendTrailer(GrpcFrames.StatusHeader, "0");
}
