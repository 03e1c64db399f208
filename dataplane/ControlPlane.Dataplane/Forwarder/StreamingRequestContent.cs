using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Net;
using ControlPlane.Dataplane.Forwarder.Http1;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// The client's request body as the upstream request's content, streamed: each chunk read from
/// Kestrel is written and flushed upstream at once (gRPC messages must not wait for a buffer to
/// fill), nothing is buffered beyond the pipe's own segments. Sent once only. Records which side
/// failed, so the forwarder can tell a client that broke off from an instance that went away.
/// HttpClient sends it as content (HTTP/2 upstreams); the HTTP/1.1 codec through <see cref="SendHttp1Async"/>.
/// Both keep the attempt's <see cref="Forwarder.UpstreamTimeout"/> informed: its clock stands still
/// while the client's next bytes are awaited, and starts over each time the instance took a piece,
/// the last one included (the wait for the response headers begins there).
/// </summary>
internal sealed class StreamingRequestContent(PipeReader source) : HttpContent
{
    private readonly TaskCompletionSource _consumed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;
    private volatile bool _stopping;

    /// <summary>
    /// Send the request headers before the first body bytes arrive. SocketsHttpHandler holds an
    /// HTTP/2 HEADERS frame back until the body's first write; a gRPC client that waits for the
    /// response headers before it sends (or a server stream that answers before reading) would
    /// then wait forever. Set for HTTP/2 upstreams.
    /// </summary>
    public bool FlushHeadersFirst { get; set; }

    /// <summary>The current attempt's timeout, for HttpClient's send (the HTTP/1.1 codec passes its own).</summary>
    public UpstreamTimeout? UpstreamTimeout { get; set; }

    /// <summary>True once the handler began sending the body (it may not, e.g. when it could not connect).</summary>
    public bool Started => Volatile.Read(ref _started) != 0;

    /// <summary>Completes when sending ended, however it ended.</summary>
    public Task Consumed => _consumed.Task;

    /// <summary>Reading the client's body failed (it disconnected, sent too little, or too slowly).</summary>
    public bool ClientFailed => ClientError is not null;

    /// <summary>Why reading the client's body failed (Kestrel's <see cref="BadHttpRequestException"/> carries the status to answer).</summary>
    public Exception? ClientError { get; private set; }

    /// <summary>Writing to the instance failed.</summary>
    public bool UpstreamFailed { get; private set; }

    /// <summary>Body bytes taken from the client so far: none, and a send that failed may be made again.</summary>
    public long BytesConsumed { get; private set; }

    /// <summary>
    /// The HTTP/1.1 codec's send: copies the body into <paramref name="connection"/>'s writer as
    /// it arrives, flushing each piece, chunk-framed when <paramref name="chunked"/> (RFC 9112
    /// §7.1, ending with the last chunk and no trailers). When the client's body fails the
    /// connection is aborted, so the exchange waiting for the response ends at once.
    /// </summary>
    public async Task SendHttp1Async(Http1Connection connection, bool chunked, UpstreamTimeout timeout)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The request body is streamed and can be sent once only.");
        }
        var upstream = connection.Writer;
        while (true)
        {
            ReadResult result;
            try
            {
                result = await timeout.OnClientAsync(source.ReadAsync()).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                ClientError = ex;
                connection.Abort();
                throw;
            }
            if (_stopping)
            {
                source.AdvanceTo(result.Buffer.Start);
                throw new OperationCanceledException("The exchange ended before the request body was sent.");
            }
            if (result.IsCanceled)
            {
                // Left over from stopping an earlier attempt's send (a retry on a new connection).
                source.AdvanceTo(result.Buffer.Start);
                continue;
            }
            var buffer = result.Buffer;
            try
            {
                if (!buffer.IsEmpty)
                {
                    if (chunked)
                    {
                        WriteChunkSize(upstream, buffer.Length);
                    }
                    foreach (var segment in buffer)
                    {
                        upstream.Write(segment.Span);
                    }
                    if (chunked)
                    {
                        upstream.Write("\r\n"u8);
                    }
                }
                if (result.IsCompleted && chunked)
                {
                    upstream.Write("0\r\n\r\n"u8);
                }
                if (!buffer.IsEmpty || result.IsCompleted)
                {
                    await upstream.FlushAsync().ConfigureAwait(false);
                    timeout.Restart();
                }
            }
            catch (Exception)
            {
                UpstreamFailed = true;
                throw;
            }
            finally
            {
                BytesConsumed += buffer.Length;
                source.AdvanceTo(buffer.End);
            }
            if (result.IsCompleted)
            {
                return;
            }
        }
    }

    /// <summary>Ends an HTTP/1.1 send still running (the exchange is over); waits until it has.</summary>
    public async Task StopHttp1Async(Task sending)
    {
        if (!sending.IsCompleted)
        {
            _stopping = true;
            source.CancelPendingRead();
        }
        try
        {
            await sending.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Its failure is accounted for by the flags.
        }
    }

    /// <summary>After a stopped send that took nothing from the client: allows sending again (on a new connection). False when it took something.</summary>
    public bool TryReset()
    {
        if (BytesConsumed != 0 || ClientError is not null)
        {
            return false;
        }
        _stopping = false;
        UpstreamFailed = false;
        Volatile.Write(ref _started, 0);
        return true;
    }

    private static void WriteChunkSize(PipeWriter upstream, long size)
    {
        var span = upstream.GetSpan(18);
        Utf8Formatter.TryFormat(size, span, out var written, new StandardFormat('X'));
        span[written++] = (byte)'\r';
        span[written++] = (byte)'\n';
        upstream.Advance(written);
    }

    /// <summary>Ends a send still running once the exchange is over (the instance answered without reading everything).</summary>
    public async Task StopAsync()
    {
        if (!Started || Consumed.IsCompleted)
        {
            return;
        }
        _stopping = true;
        source.CancelPendingRead();
        await Consumed;
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The request body is streamed and can be sent once only.");
        }
        try
        {
            var timeout = UpstreamTimeout;
            if (FlushHeadersFirst)
            {
                try
                {
                    await stream.FlushAsync(cancellationToken);
                    timeout?.Restart();
                }
                catch (Exception) when (!cancellationToken.IsCancellationRequested)
                {
                    UpstreamFailed = true;
                    throw;
                }
            }
            while (true)
            {
                ReadResult result;
                try
                {
                    var read = source.ReadAsync(cancellationToken);
                    result = timeout is null ? await read : await timeout.OnClientAsync(read);
                }
                catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
                {
                    ClientError = ex;
                    throw;
                }
                if (result.IsCanceled || _stopping)
                {
                    source.AdvanceTo(result.Buffer.Start);
                    throw new OperationCanceledException("The exchange ended before the request body was sent.");
                }
                var buffer = result.Buffer;
                try
                {
                    foreach (var segment in buffer)
                    {
                        await stream.WriteAsync(segment, cancellationToken);
                    }
                    if (!buffer.IsEmpty)
                    {
                        await stream.FlushAsync(cancellationToken);
                    }
                    if (!buffer.IsEmpty || result.IsCompleted)
                    {
                        timeout?.Restart();
                    }
                }
                catch (Exception) when (!cancellationToken.IsCancellationRequested)
                {
                    UpstreamFailed = true;
                    throw;
                }
                finally
                {
                    source.AdvanceTo(buffer.End);
                }
                if (result.IsCompleted)
                {
                    return;
                }
            }
        }
        finally
        {
            _consumed.TrySetResult();
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        // Unknown here: the forwarder sets Content-Length from the client's request when it sent one.
        length = -1;
        return false;
    }
}
