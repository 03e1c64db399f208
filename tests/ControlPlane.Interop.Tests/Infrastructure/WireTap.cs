using System.Collections.Concurrent;
using System.Net.Http.Headers;
using ControlPlane.Grpc.Client;

namespace ControlPlane.Interop.Tests.Infrastructure;

/// <summary>
/// A handler between our <see cref="GrpcChannel"/> and its SocketsHttpHandler that records every
/// HTTP/2 request it sends (see <see cref="WireExchange"/>), changing nothing on the wire.
/// </summary>
public sealed class WireTap(GrpcChannelOptions options) : DelegatingHandler(GrpcChannel.CreateHandler(options))
{
    private readonly ConcurrentQueue<WireExchange> _exchanges = new();

    public IReadOnlyList<WireExchange> Exchanges => [.. _exchanges];

    /// <summary>A channel to <paramref name="address"/> whose requests pass through a new tap.</summary>
    public static GrpcChannel CreateChannel(Uri address, GrpcChannelOptions options, out WireTap tap)
    {
        tap = new WireTap(options);
        options.HttpHandler = tap;
        options.DisposeHttpHandler = true;
        return GrpcChannel.ForAddress(address, options);
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        byte? requestFlag = null;
        if (request.Content is ByteArrayContent content)
        {
            // A unary request body is one framed message, already complete: its first byte is the compressed flag.
            var body = await content.ReadAsByteArrayAsync(cancellationToken);
            requestFlag = body.Length > 0 ? body[0] : null;
        }
        var exchange = new WireExchange(request.RequestUri!.AbsolutePath, Header(request.Headers, "grpc-encoding"), requestFlag);
        _exchanges.Enqueue(exchange);

        var response = await base.SendAsync(request, cancellationToken);
        exchange.ResponseEncoding = Header(response.Headers, "grpc-encoding");
        var original = response.Content;
        var tapped = new StreamContent(new FirstByteStream(await original.ReadAsStreamAsync(cancellationToken), exchange));
        foreach (var header in original.Headers)
        {
            tapped.Headers.TryAddWithoutValidation(header.Key, header.Value);
        }
        // Same response object: SocketsHttpHandler still fills its TrailingHeaders at the end of the body.
        response.Content = tapped;
        return response;
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) ? values.ToString() : null;

    private sealed class FirstByteStream(Stream inner, WireExchange exchange) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Observe(buffer.AsSpan(offset), inner.Read(buffer, offset, count));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            return Observe(buffer.Span, read);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }

        private int Observe(ReadOnlySpan<byte> buffer, int read)
        {
            if (read > 0)
            {
                exchange.OnFirstResponseByte(buffer[0]);
            }
            return read;
        }
    }
}
