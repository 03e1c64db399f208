using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using ControlPlane.Dataplane.Ops;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace ControlPlane.Dataplane.Forwarder.Http1;

/// <summary>
/// <see cref="HttpForwarder"/> for HTTP/1.1 instances, on the node's own client: the request head
/// is written into a pooled connection's pipe, the body streamed behind it; the response head is
/// parsed from the connection's pipe and copied to the client's response, and the body relayed as
/// it arrives (RFC 9112 framing undone, Kestrel framing the client's side). One state machine per
/// request, no request or response objects, no header collections but the client's own.
/// </summary>
/// <remarks>
/// Outcomes and their classification are <see cref="HttpForwarder"/>'s. A connection carries the
/// next exchange only when this one ended cleanly: the response read to its end with nothing
/// after it, the request body sent whole, no <c>Connection: close</c>; anything else closes it.
/// A request that fails on a reused connection before any response byte arrived (the instance
/// closed it while idle) is sent once more on a new connection when nothing of its body was taken
/// from the client yet, as SocketsHttpHandler does. It logs under <see cref="HttpForwarder"/>'s
/// category: one forwarder to operators, whichever client carried the request.
/// </remarks>
internal sealed class Http1Forwarder(Http1Client client, UpstreamCancellation cancellation, IOptions<ForwarderOptions> options, DataplaneMetrics metrics, ILogger<HttpForwarder> logger)
{
    /// <summary>How long a request with <c>Expect: 100-continue</c> holds its body back for the instance's 100 (HttpClient's default).</summary>
    private static readonly TimeSpan ExpectContinueTimeout = TimeSpan.FromSeconds(1);

    /// <summary>Why a body ended before its framing said it would.</summary>
    private const string ClosedShort = "The instance closed the connection before the body's end.";

    private readonly ForwarderOptions _options = options.Value;

    public async ValueTask<ForwardResult> ForwardAsync(HttpContext http, ForwardRequest request, UpstreamDestination destination)
    {
        var pool = client.PoolFor(destination);
        var body = request.Body;
        using var cancel = cancellation.Rent(http.RequestAborted, _options.EffectiveActivityTimeout);
        var started = Stopwatch.GetTimestamp();
        var fresh = false;
        while (true)
        {
            Http1Connection connection;
            try
            {
                connection = await pool.RentAsync(fresh, cancel.Token);
            }
            catch (Exception ex)
            {
                return Classify(http, body, cancel, ex);
            }
            // The client leaving or the instance's silence timing out breaks the connection off: every read and write on it ends.
            var registration = cancel.Token.UnsafeRegister(static c => ((Http1Connection)c!).Abort(), connection);
            bool chunked;
            try
            {
                Http1RequestWriter.WriteHead(connection.Writer, http, request, destination, out chunked);
            }
            catch (FormatException ex)
            {
                registration.Dispose();
                pool.Discard(connection);
                return new ForwardResult(ForwardOutcome.RequestInvalid, 0, ex);
            }

            Task? sending = null;
            var received = false;
            var scanned = 0;
            int status;
            string? reasonPhrase;
            ReadResult result;
            ReadOnlySequence<byte> buffer;
            Http1ResponseFraming framing;
            var response = http.Response;
            try
            {
                await connection.Writer.FlushAsync();
                var expectContinue = body is not null && ExpectsContinue(http.Request);
                if (body is not null && !expectContinue)
                {
                    sending = body.SendHttp1Async(connection, chunked, cancel);
                }
                while (true)
                {
                    var read = connection.ReadAsync();
                    if (body is not null && sending is null && !read.IsCompleted)
                    {
                        var pending = read.AsTask();
                        if (!await AnsweredWithinAsync(pending, ExpectContinueTimeout, cancel.Token))
                        {
                            sending = body.SendHttp1Async(connection, chunked, cancel);
                        }
                        read = new ValueTask<ReadResult>(pending);
                    }
                    result = await read;
                    buffer = result.Buffer;
                    received |= !buffer.IsEmpty;
                    if (!Http1ResponseParser.TryParseHead(ref buffer, connection, _options.MaxResponseHeadersBytes, _options.MaxResponseHeaderCount, ref scanned, out status, out var minor, out reasonPhrase))
                    {
                        if (result.IsCompleted || result.IsCanceled)
                        {
                            throw new Http1ProtocolException(received ? "The instance closed the connection in the middle of the response head." : "The instance closed the connection without answering.", closed: true);
                        }
                        connection.Reader.AdvanceTo(buffer.Start, buffer.End);
                        continue;
                    }
                    if (status >= 200)
                    {
                        framing = Http1ResponseFraming.From(connection.Fields, status, minor, HttpMethods.IsHead(http.Request.Method));
                        break;
                    }
                    // Informational answers are this hop's business (RFC 9110 §15.2): not relayed. 101 answers no request of ours.
                    if (status == 101)
                    {
                        throw new Http1ProtocolException("The instance switched protocols though none was asked for.");
                    }
                    if (status == 100 && body is not null && sending is null)
                    {
                        sending = body.SendHttp1Async(connection, chunked, cancel);
                    }
                    connection.Reader.AdvanceTo(buffer.Start);
                }
                // Kestrel refuses some fields as an instance may send them (InvalidOperationException):
                // a broken response like any other, and nothing has gone to the client yet.
                response.StatusCode = status;
                ProxyHeaders.CopyResponseHeaders(connection.Fields, response);
                ReasonPhrase.Relay(http, reasonPhrase);
            }
            catch (Exception ex)
            {
                registration.Dispose();
                connection.Abort();
                if (sending is not null)
                {
                    await body!.StopHttp1Async(sending);
                }
                pool.Discard(connection);
                if (!received && connection.IsReused && !fresh && !cancel.IsCancellationRequested && ProxyHandler.IsIdempotent(http.Request.Method) && (body is null || body.TryReset()))
                {
                    // The instance closed the idle connection as the request went out: once more, on a new one.
                    // Only an idempotent request: the instance may have acted on it before closing, and a
                    // proxy must not repeat a non-idempotent one (RFC 9110 §9.2.2).
                    fresh = true;
                    continue;
                }
                return Classify(http, body, cancel, ex);
            }

            metrics.UpstreamDuration(request.Image, Stopwatch.GetElapsedTime(started), DataplaneMetrics.StatusClass(status));
            http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();

            var outcome = ForwardOutcome.Completed;
            Exception? failure = null;
            long sent = 0;
            var leftover = false;
            if (framing.Kind != Http1BodyKind.None)
            {
                var writer = response.BodyWriter;
                var remaining = framing.ContentLength;
                var decoder = new Http1ChunkedDecoder();
                var relayed = false;
                while (true)
                {
                    long wrote = 0;
                    bool done;
                    if (framing.Kind == Http1BodyKind.ContentLength && response.HasStarted)
                    {
                        // Written, not advanced: Kestrel counts only written bytes of a Content-Length body toward
                        // the client's minimum data rate, so a client that pauses a few seconds mid-download would
                        // otherwise be cut (each flush allowed only the rate's grace period).
                        var take = Math.Min(remaining, buffer.Length);
                        var written = await WriteCountedAsync(writer, buffer.Slice(0, take), http, cancel);
                        sent += written.Bytes;
                        if (written.Outcome != ForwardOutcome.Completed)
                        {
                            (outcome, failure) = (written.Outcome, written.Error);
                            break;
                        }
                        buffer = buffer.Slice(take);
                        remaining -= take;
                        done = remaining == 0;
                    }
                    else if (sent == 0 && !response.HasStarted && BrokenAhead(framing.Kind, buffer, remaining, decoder, result.IsCompleted) is { } broken)
                    {
                        // Nothing relayed yet, and the bytes at hand show the body broken: the client gets a 502,
                        // not a reset where it has not even seen the head.
                        (outcome, failure) = (ForwardOutcome.ResponseBodyFailed, broken);
                        break;
                    }
                    else
                    {
                        try
                        {
                            done = Decode(framing.Kind, ref buffer, ref remaining, ref decoder, result.IsCompleted, writer, connection, response, ref wrote);
                        }
                        catch (Exception ex) when (ex is Http1ProtocolException or InvalidOperationException)
                        {
                            // A broken body, or one Kestrel refuses to send. What was relayed before is still counted.
                            sent += wrote;
                            (outcome, failure) = (ForwardOutcome.ResponseBodyFailed, ex);
                            break;
                        }
                        sent += wrote;
                    }
                    if (done)
                    {
                        break;
                    }
                    if (result.IsCompleted || result.IsCanceled)
                    {
                        // Closed before the body's end.
                        (outcome, failure) = (ForwardOutcome.ResponseBodyFailed, new Http1ProtocolException(ClosedShort, closed: true));
                        break;
                    }
                    connection.Reader.AdvanceTo(buffer.Start, buffer.End);
                    if (wrote > 0 || !relayed)
                    {
                        // What arrived goes on before waiting for more; the headers go at once when no body byte came with them
                        // (a slow first byte must not hold them back).
                        relayed = true;
                        try
                        {
                            var flush = await cancel.OnClientAsync(writer.FlushAsync(cancel.Token));
                            if (flush.IsCanceled || flush.IsCompleted)
                            {
                                outcome = ForwardOutcome.ClientAborted;
                                break;
                            }
                        }
                        catch (Exception ex)
                        {
                            (outcome, failure) = (HttpForwarder.WriteFailure(http, ex), ex);
                            break;
                        }
                    }
                    try
                    {
                        // The wait for the instance's next bytes: timed from here.
                        cancel.Restart();
                        result = await connection.Reader.ReadAsync();
                        buffer = result.Buffer;
                    }
                    catch (Exception ex)
                    {
                        (outcome, failure) = (http.RequestAborted.IsCancellationRequested ? ForwardOutcome.ClientAborted : ForwardOutcome.ResponseBodyFailed, ex);
                        break;
                    }
                }
            }
            // The instance's part is over; what follows waits on the client only.
            cancel.Stop();
            if (outcome == ForwardOutcome.Completed)
            {
                // Bytes past the response's end answer nothing we asked: the connection's framing cannot be trusted.
                leftover = !buffer.IsEmpty;
                connection.Reader.AdvanceTo(buffer.End);
            }
            else if (http.RequestAborted.IsCancellationRequested)
            {
                outcome = ForwardOutcome.ClientAborted;
            }

            if (outcome == ForwardOutcome.Completed && response.HasStarted)
            {
                // Once part of a response was flushed, Kestrel was seen to leave the unflushed tail of a
                // Content-Length body unsent at the request's end: flush it here. (Nothing flushed yet, as
                // for a small body read with its head, and Kestrel sends head and body together at the end.)
                try
                {
                    var flush = await response.BodyWriter.FlushAsync(http.RequestAborted);
                    if (flush.IsCanceled)
                    {
                        outcome = ForwardOutcome.ClientAborted;
                    }
                }
                catch (Exception ex)
                {
                    (outcome, failure) = (HttpForwarder.WriteFailure(http, ex), ex);
                }
            }
            registration.Dispose();
            var bodySent = body is null;
            if (sending is not null)
            {
                await body!.StopHttp1Async(sending);
                bodySent = sending.IsCompletedSuccessfully;
            }
            if (outcome == ForwardOutcome.Completed && framing.KeepAlive && !leftover && bodySent && !connection.IsAborted)
            {
                pool.Return(connection);
            }
            else
            {
                pool.Discard(connection);
            }
            if (outcome == ForwardOutcome.ResponseBodyFailed)
            {
                if (!response.HasStarted && sent == 0)
                {
                    // Nothing of the answer has gone out, nor waits in the response's buffer (which no
                    // answer of ours could take back): the client gets the proxy's 502 instead.
                    return new ForwardResult(ForwardOutcome.UpstreamFailed, 0, failure);
                }
                // The client must not mistake a truncated body for a whole one.
                ForwarderLog.ResponseBodyBrokenOff(logger, http, request.Image, destination.Origin, cancel, _options.EffectiveActivityTimeout);
                http.Abort();
            }
            return new ForwardResult(outcome, status, failure, sent);
        }
    }

    /// <summary>
    /// Relays the body bytes <paramref name="buffer"/> holds to the client's response (not flushed)
    /// and leaves <paramref name="buffer"/> past them; true when the body is complete (trailers,
    /// if any, copied).
    /// </summary>
    private bool Decode(Http1BodyKind kind, ref ReadOnlySequence<byte> buffer, ref long remaining, ref Http1ChunkedDecoder decoder, bool completed, PipeWriter writer, Http1Connection connection, HttpResponse response, ref long wrote)
    {
        switch (kind)
        {
            case Http1BodyKind.ContentLength:
                var take = Math.Min(remaining, buffer.Length);
                wrote += Relay(writer, buffer.Slice(0, take));
                buffer = buffer.Slice(take);
                remaining -= take;
                return remaining == 0;
            case Http1BodyKind.ToClose:
                wrote += Relay(writer, buffer);
                buffer = buffer.Slice(buffer.End);
                return completed;
            default:
                while (true)
                {
                    switch (decoder.Decode(ref buffer, out var data))
                    {
                        case Http1ChunkedDecoder.Result.Data:
                            wrote += Relay(writer, data);
                            continue;
                        case Http1ChunkedDecoder.Result.NeedMoreData:
                            return false;
                        default:
                            if (!Http1ResponseParser.TryParseTrailers(ref buffer, connection, _options.MaxResponseHeadersBytes, _options.MaxResponseHeaderCount, ref decoder.TrailerScanned))
                            {
                                return false;
                            }
                            ProxyHeaders.CopyTrailers(connection.Fields, response);
                            return true;
                    }
                }
        }
    }

    /// <summary>
    /// Whether the body bytes at hand (copies: nothing is consumed) already show the body broken, before
    /// any of it goes to the client's response (once it has, only a reset can tell the client): a chunk
    /// framing error, or the connection closed short of the body's end. Null when they do not (yet).
    /// The trailer section is not looked at.
    /// </summary>
    private static Http1ProtocolException? BrokenAhead(Http1BodyKind kind, ReadOnlySequence<byte> buffer, long remaining, Http1ChunkedDecoder decoder, bool completed)
    {
        switch (kind)
        {
            case Http1BodyKind.ContentLength:
                return completed && buffer.Length < remaining ? new Http1ProtocolException(ClosedShort, closed: true) : null;
            case Http1BodyKind.Chunked:
                try
                {
                    while (true)
                    {
                        switch (decoder.Decode(ref buffer, out _))
                        {
                            case Http1ChunkedDecoder.Result.Data:
                                continue;
                            case Http1ChunkedDecoder.Result.NeedMoreData:
                                return completed ? new Http1ProtocolException(ClosedShort, closed: true) : null;
                            default:
                                return null;
                        }
                    }
                }
                catch (Http1ProtocolException ex)
                {
                    return ex;
                }
            default:
                return null;
        }
    }

    /// <summary>Writes <paramref name="data"/> to the client piece by piece, each write flushed (and waited on with the instance's clock stopped).</summary>
    private static async ValueTask<(ForwardOutcome Outcome, long Bytes, Exception? Error)> WriteCountedAsync(PipeWriter writer, ReadOnlySequence<byte> data, HttpContext http, UpstreamTimeout cancel)
    {
        long written = 0;
        foreach (var segment in data)
        {
            try
            {
                var flush = await cancel.OnClientAsync(writer.WriteAsync(segment, cancel.Token));
                if (flush.IsCanceled || flush.IsCompleted)
                {
                    return (ForwardOutcome.ClientAborted, written, null);
                }
            }
            catch (Exception ex)
            {
                return (HttpForwarder.WriteFailure(http, ex), written, ex);
            }
            written += segment.Length;
        }
        return (ForwardOutcome.Completed, written, null);
    }

    private static long Relay(PipeWriter writer, in ReadOnlySequence<byte> data)
    {
        foreach (var segment in data)
        {
            writer.Write(segment.Span);
        }
        return data.Length;
    }

    /// <summary>As for HttpClient, except that a timeout shows as whatever the aborted connection threw.</summary>
    private static ForwardResult Classify(HttpContext http, StreamingRequestContent? body, UpstreamTimeout cancel, Exception ex) =>
        cancel.IsCancellationRequested && !http.RequestAborted.IsCancellationRequested && body?.ClientError is null && UpstreamConnectException.Find(ex) is null
            ? new ForwardResult(ForwardOutcome.Timeout, 0, ex)
            : HttpForwarder.Classify(http, body, cancel, ex);

    /// <summary>Whether the instance answered (a 100, or at once a final status) within <paramref name="wait"/>: RFC 9110 §10.1.1, no indefinite wait for a 100.</summary>
    private static async Task<bool> AnsweredWithinAsync(Task<ReadResult> read, TimeSpan wait, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(wait, timer.Token);
        var first = await Task.WhenAny(read, delay);
        await timer.CancelAsync();
        return first == read;
    }

    private static bool ExpectsContinue(HttpRequest request)
    {
        foreach (var value in request.Headers.Expect)
        {
            if (value is not null && value.Contains("100-continue", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }
}
