using System.Net;
using System.Net.Http.Headers;
using ControlPlane.Benchmarks.Measurement;

namespace ControlPlane.Benchmarks.GrpcRuntime;

/// <summary>
/// The in-process load generator for what h2load cannot count (streamed messages): plain
/// SocketsHttpHandler requests carrying pre-framed bytes, one handler per HTTP/2 connection.
/// It does the same work against either server, so the servers are the only difference.
/// </summary>
internal sealed class HttpLoad : IDisposable
{
    private readonly HttpMessageInvoker[] _connections;

    public HttpLoad(int connections)
    {
        _connections = new HttpMessageInvoker[connections];
        for (var i = 0; i < connections; i++)
        {
            // One handler per connection: all of its calls share one HTTP/2 connection.
            _connections[i] = new HttpMessageInvoker(new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = false,
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                AutomaticDecompression = DecompressionMethods.None,
                UseProxy = false,
                UseCookies = false,
                AllowAutoRedirect = false,
                ConnectTimeout = TimeSpan.FromSeconds(10),
            });
        }
    }

    public HttpMessageInvoker Connection(int worker) => _connections[worker % _connections.Length];

    /// <summary>Calls repeatedly, counting response bytes as they arrive.</summary>
    public static async Task ServerStreamAsync(HttpMessageInvoker client, Uri uri, byte[] request, long responseBytes, LoadContext load)
    {
        var buffer = new byte[64 * 1024];
        while (!load.Stopping)
        {
            using var message = Post(uri, new ByteArrayContent(request));
            using var response = await client.SendAsync(message, load.Abort);
            EnsureGrpcResponse(response);
            await using var stream = await response.Content.ReadAsStreamAsync(load.Abort);
            var total = await DrainAsync(stream, buffer, load.Add, load.Abort);
            if (total != responseBytes)
            {
                throw new InvalidOperationException($"{uri}: the stream carried {total} bytes, not {responseBytes}.");
            }
            EnsureOkTrailers(response);
        }
    }

    /// <summary>Writes <paramref name="chunk"/> (several frames) until <paramref name="messagesPerCall"/>, counting messages sent.</summary>
    public static async Task ClientStreamAsync(HttpMessageInvoker client, Uri uri, byte[] chunk, int framesPerChunk, int messagesPerCall, LoadContext load)
    {
        while (!load.Stopping)
        {
            var content = new DuplexContent();
            using var message = Post(uri, content);
            var responseTask = client.SendAsync(message, load.Abort);
            var stream = await RequestStreamAsync(content, responseTask, load.Abort);
            long sent = 0;
            while (sent < messagesPerCall && !load.Stopping)
            {
                await stream.WriteAsync(chunk, load.Abort);
                await stream.FlushAsync(load.Abort);
                sent += framesPerChunk;
                load.Add(framesPerChunk);
            }
            content.Complete();
            using var response = await responseTask;
            EnsureGrpcResponse(response);
            var body = await response.Content.ReadAsByteArrayAsync(load.Abort);
            var expected = GrpcFrames.Frame(new V1.StreamSummary { Messages = sent });
            if (!body.AsSpan().SequenceEqual(expected))
            {
                throw new InvalidOperationException($"{uri}: the server did not count {sent} messages.");
            }
            EnsureOkTrailers(response);
        }
    }

    /// <summary>One long call: write a frame, read its echo, repeat; counts round trips.</summary>
    public static async Task PingPongAsync(HttpMessageInvoker client, Uri uri, byte[] frame, LoadContext load)
    {
        var buffer = new byte[frame.Length];
        var content = new DuplexContent();
        using var message = Post(uri, content);
        var responseTask = client.SendAsync(message, load.Abort);
        var requestStream = await RequestStreamAsync(content, responseTask, load.Abort);
        await requestStream.WriteAsync(frame, load.Abort);
        await requestStream.FlushAsync(load.Abort);
        // Our server sends its headers with the first message, so they arrive after the first write.
        using var response = await responseTask;
        EnsureGrpcResponse(response);
        await using var responseStream = await response.Content.ReadAsStreamAsync(load.Abort);
        while (true)
        {
            await responseStream.ReadExactlyAsync(buffer, load.Abort);
            load.Add(1);
            if (load.Stopping)
            {
                break;
            }
            await requestStream.WriteAsync(frame, load.Abort);
            await requestStream.FlushAsync(load.Abort);
        }
        content.Complete();
        if (await responseStream.ReadAsync(buffer, load.Abort) != 0)
        {
            throw new InvalidOperationException($"{uri}: more data than the pings asked for.");
        }
        EnsureOkTrailers(response);
    }

    /// <summary>Unary calls with the headers our client sends, reading the response to the trailers.</summary>
    public static async Task UnaryAsync(HttpMessageInvoker client, Uri uri, byte[] request, LoadContext load)
    {
        var buffer = new byte[16 * 1024];
        while (!load.Stopping)
        {
            using var message = Post(uri, new ByteArrayContent(request));
            message.Headers.TryAddWithoutValidation("user-agent", ControlPlaneClientUserAgent);
            message.Headers.TryAddWithoutValidation(GrpcFrames.AcceptEncodingHeader, GrpcFrames.AcceptEncoding);
            using var response = await client.SendAsync(message, load.Abort);
            EnsureGrpcResponse(response);
            await using var stream = await response.Content.ReadAsStreamAsync(load.Abort);
            var total = await DrainAsync(stream, buffer, null, load.Abort);
            if (total != request.Length)
            {
                throw new InvalidOperationException($"{uri}: the response has {total} bytes, not {request.Length}.");
            }
            EnsureOkTrailers(response);
            load.Add(1);
        }
    }

    /// <summary>A gRPC request: POST over HTTP/2 only, application/grpc, te: trailers.</summary>
    public static HttpRequestMessage Post(Uri uri, HttpContent content)
    {
        if (content.Headers.ContentType is null)
        {
            content.Headers.ContentType = new MediaTypeHeaderValue(GrpcFrames.ContentType);
        }
        var message = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        message.Headers.TryAddWithoutValidation("te", "trailers");
        return message;
    }

    public static void EnsureGrpcResponse(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.OK || response.Headers.Contains(GrpcFrames.StatusHeader))
        {
            throw new InvalidOperationException(
                $"{response.RequestMessage?.RequestUri}: HTTP {(int)response.StatusCode}, grpc-status in headers: " +
                (response.Headers.TryGetValues(GrpcFrames.StatusHeader, out var v) ? string.Join(",", v) : "none"));
        }
    }

    public static void EnsureOkTrailers(HttpResponseMessage response)
    {
        if (!response.TrailingHeaders.TryGetValues(GrpcFrames.StatusHeader, out var values) || string.Join(",", values) != "0")
        {
            throw new InvalidOperationException($"{response.RequestMessage?.RequestUri}: the call did not end with grpc-status 0.");
        }
    }

    /// <summary>The request stream, or the reason the server answered before taking it.</summary>
    private static async Task<Stream> RequestStreamAsync(DuplexContent content, Task<HttpResponseMessage> responseTask, CancellationToken cancellationToken)
    {
        await Task.WhenAny(content.RequestStream, responseTask).WaitAsync(cancellationToken);
        if (content.RequestStream.IsCompletedSuccessfully)
        {
            return content.RequestStream.Result;
        }
        using var early = await responseTask;
        throw new InvalidOperationException($"{early.RequestMessage?.RequestUri}: the server answered HTTP {(int)early.StatusCode} before reading the request.");
    }

    /// <summary>Same form as our client's user-agent, so both clients send headers of the same size.</summary>
    private const string ControlPlaneClientUserAgent = "controlplane-grpc-dotnet/0.1.0";

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }

    /// <summary>Reads a response body to its end, reporting each chunk's size; returns the byte count.</summary>
    private static async Task<long> DrainAsync(Stream stream, byte[] buffer, Action<long>? onRead, CancellationToken cancellationToken)
    {
        long total = 0;
        int n;
        while ((n = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            total += n;
            onRead?.Invoke(n);
        }
        return total;
    }
}
