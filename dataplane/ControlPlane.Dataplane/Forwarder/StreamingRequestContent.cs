using System.Buffers;
using System.Buffers.Text;
using System.IO.Pipelines;
using System.Net;
using ControlPlane.Dataplane.Forwarder.Http1;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// The client's request body as the upstream request's content, streamed: each chunk read from
/// Kestrel is written and flushed upstream at once (gRPC messages must not wait for a buffer to
/// fill), nothing is buffered beyond the pipe's own segments. Sent once (again only when nothing
/// of it was taken from the client yet: below). Records which side
/// failed, so the forwarder can tell a client that broke off from an instance that went away.
/// HttpClient sends it as content (HTTP/2 upstreams); the HTTP/1.1 codec through <see cref="SendHttp1Async"/>.
/// Both keep the attempt's <see cref="Forwarder.UpstreamTimeout"/> informed: its clock stands still
/// while the client's next bytes are awaited, and starts over each time the instance took a piece,
/// the last one included (the wait for the response headers begins there).
/// </summary>
/// <remarks>
/// HttpClient asks for the body again when an HTTP/2 instance refused the stream it went on
/// (REFUSED_STREAM, or a stream past a GOAWAY's last id: not processed, RFC 9113 §8.7), and sends
/// the request once more on a fresh stream to the same instance, up to three times. That is allowed
/// while nothing of the body was taken from the client; otherwise that send fails at once, and
/// <see cref="RefusedAfterBody"/> tells the forwarder why. So that the second call comes whatever
/// the timing, an HTTP/2 send never ends by itself on HttpClient's cancellation: it reads the
/// client's body without HttpClient's token, and waits when a write fails for it
/// (<see cref="ParkAsync"/>); the next send, or <see cref="StopAsync"/> once the forwarder's
/// exchange is over, ends it. Else HttpClient reports whichever of the body and the response head
/// failed first, and a refusal could look like any reset.
/// </remarks>
internal sealed class StreamingRequestContent(PipeReader source) : HttpContent
{
    private int _started;
    private volatile bool _stopping;

    /// <summary>HttpClient's sends of this body since the start (or the last <see cref="TryReset"/>).</summary>
    private int _sends;

    /// <summary>The latest of them; it waits for the one before it first.</summary>
    private Task _sending = Task.CompletedTask;

    /// <summary>Set while a send whose HTTP/2 stream HttpClient ended waits to be ended (<see cref="ParkAsync"/>).</summary>
    private TaskCompletionSource? _parked;

    /// <summary>
    /// Send the request headers before the first body bytes arrive. SocketsHttpHandler holds an
    /// HTTP/2 HEADERS frame back until the body's first write; a gRPC client that waits for the
    /// response headers before it sends (or a server stream that answers before reading) would
    /// then wait forever. Set for HTTP/2 upstreams.
    /// </summary>
    public bool FlushHeadersFirst { get; set; }

    /// <summary>The current attempt's timeout, for HttpClient's send (the HTTP/1.1 codec passes its own).</summary>
    public UpstreamTimeout? UpstreamTimeout { get; set; }

    /// <summary>
    /// The instance refused the stream (HTTP/2) after part of the body had been taken from the client:
    /// HttpClient's send on a fresh stream was refused, as the body cannot be sent whole again.
    /// </summary>
    public bool RefusedAfterBody { get; private set; }

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

    /// <summary>
    /// After a stopped send that took nothing from the client: allows sending again (on a new
    /// connection, or to another instance in a new request message, whose content fields are set
    /// anew). False when it took something.
    /// </summary>
    public bool TryReset()
    {
        if (BytesConsumed != 0 || ClientError is not null)
        {
            return false;
        }
        _stopping = false;
        UpstreamFailed = false;
        RefusedAfterBody = false;
        _sends = 0;
        _sending = Task.CompletedTask;
        _parked = null;
        Headers.Clear();
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

    /// <summary>Ends HttpClient's send still running once the exchange is over (the instance answered without reading everything, or failed).</summary>
    public async Task StopAsync()
    {
        var sending = _sending;
        if (sending.IsCompleted)
        {
            return;
        }
        _stopping = true;
        source.CancelPendingRead();
        Unpark();
        try
        {
            await sending;
        }
        catch (Exception)
        {
            // Its failure is accounted for by the flags (and HttpClient saw it).
        }
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        var sending = SendAsync(stream, Interlocked.Increment(ref _sends), _sending, cancellationToken);
        _sending = sending;
        return sending;
    }

    private async Task SendAsync(Stream stream, int send, Task previous, CancellationToken cancellationToken)
    {
        if (send > 1)
        {
            // HttpClient sends the request again on a fresh stream: the instance did not process the
            // one before (above). The send there may still wait on the client: end it, then go on
            // from where it left the client's body, which must be its start.
            if (!previous.IsCompleted)
            {
                source.CancelPendingRead();
                Unpark();
            }
            try
            {
                await previous;
            }
            catch (Exception)
            {
                // That stream is gone; what it took is in BytesConsumed.
            }
            if (!FlushHeadersFirst || BytesConsumed != 0 || ClientError is not null || _stopping)
            {
                // HTTP/1.1 (HttpClient retries a request its reused connection lost, which may have been
                // processed), part of the body gone with the refused stream, or the exchange is over.
                RefusedAfterBody = FlushHeadersFirst && BytesConsumed != 0;
                throw new InvalidOperationException($"The request body is streamed and cannot be sent again: {BytesConsumed} bytes of it were taken from the client for the first send.");
            }
        }
        var timeout = UpstreamTimeout;
        if (FlushHeadersFirst)
        {
            try
            {
                await stream.FlushAsync(cancellationToken);
                timeout?.Restart();
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                await ParkAsync(send);
                throw;
            }
            catch (Exception)
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
                // Not HttpClient's token (above): StopAsync, or the next send, cancels this read.
                var read = source.ReadAsync();
                result = timeout is null ? await read : await timeout.OnClientAsync(read);
            }
            catch (Exception ex)
            {
                ClientError = ex;
                throw;
            }
            if (_stopping || send != Volatile.Read(ref _sends))
            {
                source.AdvanceTo(result.Buffer.Start);
                throw new OperationCanceledException("The exchange ended before the request body was sent.");
            }
            if (result.IsCanceled)
            {
                // Left over from ending a send that had left its read already.
                source.AdvanceTo(result.Buffer.Start);
                continue;
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
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                await ParkAsync(send);
                throw;
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

    /// <summary>
    /// HttpClient ended the send's HTTP/2 stream (the instance reset it, refused it maybe, or the exchange
    /// is over). Ending the send now would race HttpClient's answer to a refusal, the send again on a
    /// fresh stream: it reports whichever of the body and the response head failed first. So the send
    /// waits until <see cref="StopAsync"/> or that next send ends it. HTTP/1.1 sends end at once: there
    /// HttpClient may wait for the body before it answers.
    /// </summary>
    private async Task ParkAsync(int send)
    {
        if (!FlushHeadersFirst)
        {
            return;
        }
        var parked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _parked, parked);
        // Both enders set their mark before they look for a parked send: one of the two sees the other.
        if (!_stopping && send == Volatile.Read(ref _sends))
        {
            await parked.Task;
        }
    }

    private void Unpark() => Interlocked.Exchange(ref _parked, null)?.TrySetResult();

    /// <summary>
    /// Nothing to release (the client's body reader is Kestrel's), and the request message's disposal
    /// must not end the body: after a refused stream the node sends it again in a new message.
    /// </summary>
    protected override void Dispose(bool disposing)
    {
    }

    protected override bool TryComputeLength(out long length)
    {
        // Unknown here: the forwarder sets Content-Length from the client's request when it sent one.
        length = -1;
        return false;
    }
}
