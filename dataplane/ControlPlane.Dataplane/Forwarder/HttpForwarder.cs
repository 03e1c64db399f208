using System.Buffers;
using System.Diagnostics;
using System.Net;
using ControlPlane.Dataplane.Forwarder.Http1;
using ControlPlane.Dataplane.Ops;
using ControlPlane.Grpc;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// Sends one request to one instance and relays the answer: headers as they come, the body chunk
/// by chunk in both directions (never buffered whole), trailers at the end. It writes nothing to
/// the client unless the instance answered; the caller turns other outcomes into the proxy's own
/// answers (or a retry).
/// </summary>
internal sealed class HttpForwarder(UpstreamClient client, Http1Forwarder http1, UpstreamCancellation cancellation, IOptions<ForwarderOptions> options, DataplaneMetrics metrics, ILogger<HttpForwarder> logger)
{
    // Large enough to move bulk bodies with few syscalls; rented per response, so idle costs nothing.
    private const int BufferSize = 64 * 1024;

    private static readonly UriCreationOptions Verbatim = new() { DangerousDisablePathAndQueryCanonicalization = true };

    /// <summary>
    /// CONNECT asks the proxy for a tunnel, which a <c>/g/{image}</c> route is not: forwarded, it would
    /// reach the instance as <c>CONNECT /path</c>, and a 2xx answer to it has no body by definition.
    /// Refused before any instance sees it: 400, the request cannot be forwarded as sent (Envoy's
    /// HTTP/1.1 codec answered CONNECT with 400 too before it supported tunnels).
    /// </summary>
    private static readonly ForwardResult ConnectRefused =
        new(ForwardOutcome.RequestInvalid, 0, new NotSupportedException("CONNECT asks for a tunnel, which this proxy does not open."));

    /// <summary>
    /// A protocol switch (WebSocket) needs a tunnel too, and Upgrade is hop-by-hop: forwarded without it,
    /// the handshake would reach the instance as a plain GET, and an instance answering 101 anyway would
    /// be a 502 counted against its health for the client's request. Refused before any instance sees it.
    /// </summary>
    private static readonly ForwardResult UpgradeRefused =
        new(ForwardOutcome.RequestInvalid, 0, new NotSupportedException("The request asks to switch protocols (Upgrade), which this proxy does not do."));

    /// <summary>
    /// A request body in a transfer coding besides chunked (<c>gzip, chunked</c>), or chunked twice: Kestrel
    /// undoes the chunked framing only, so forwarded, the instance would read the coded bytes as the content.
    /// Refused with 501, as RFC 9112 §6.1 has a server answer a coding it does not understand (nginx does).
    /// </summary>
    private static readonly ForwardResult CodingRefused =
        new(ForwardOutcome.RequestInvalid, 0, new NotImplementedException("The request body has a transfer coding other than chunked, which this proxy does not undo."));

    private readonly HttpMessageInvoker _invoker = client.Invoker;
    private readonly ForwarderOptions _options = options.Value;

    /// <summary>HTTP/1.1 instances through the node's own client (<see cref="Http1Forwarder"/>) unless configured otherwise; HTTP/2 and gRPC through HttpClient.</summary>
    public ValueTask<ForwardResult> ForwardAsync(HttpContext http, ForwardRequest request, UpstreamDestination destination) =>
        HttpMethods.IsConnect(http.Request.Method) ? new(ConnectRefused)
        : AsksForWebSocket(http.Request) ? new(UpgradeRefused)
        : HasOtherTransferCoding(http.Request) ? new(CodingRefused)
        : _options.NativeHttp1 && !request.Grpc && destination.Version == HttpVersion.Version11
            ? http1.ForwardAsync(http, request, destination)
            : ForwardWithHttpClientAsync(http, request, destination);

    /// <summary>
    /// An HTTP/1.1 WebSocket handshake: <c>Upgrade: websocket</c> with <c>Connection: upgrade</c> (without
    /// it, Upgrade is a stray hop-by-hop field, dropped). Other upgrades, such as h2c, are offers a server may ignore.
    /// </summary>
    private static bool AsksForWebSocket(HttpRequest request)
    {
        if (request.HttpContext.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpUpgradeFeature>() is not { IsUpgradableRequest: true })
        {
            return false;
        }
        foreach (var value in request.Headers.Upgrade)
        {
            if (value is not null && value.Contains("websocket", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>True when the request's <c>Transfer-Encoding</c> is anything but one <c>chunked</c>.</summary>
    private static bool HasOtherTransferCoding(HttpRequest request)
    {
        var codings = request.Headers.TransferEncoding;
        if (codings.Count == 0)
        {
            return false;
        }
        var chunked = 0;
        foreach (var value in codings)
        {
            foreach (var token in (value ?? "").Split(',', StringSplitOptions.TrimEntries))
            {
                if (!token.Equals("chunked", StringComparison.OrdinalIgnoreCase) || ++chunked > 1)
                {
                    return true;
                }
            }
        }
        return false;
    }

    private async ValueTask<ForwardResult> ForwardWithHttpClientAsync(HttpContext http, ForwardRequest request, UpstreamDestination destination)
    {
        HttpRequestMessage? created;
        try
        {
            created = CreateMessage(http, request, destination);
        }
        catch (Exception ex) when (ex is UriFormatException or FormatException or InvalidOperationException)
        {
            // Something in the client's request cannot be put on the wire: its fault, not the instance's.
            return new ForwardResult(ForwardOutcome.RequestInvalid, 0, ex);
        }
        using var message = created;
        // gRPC calls carry their own deadline (grpc-timeout), and watch streams may rightly wait long for their headers.
        using var cancel = cancellation.Rent(http.RequestAborted, request.Grpc ? Timeout.InfiniteTimeSpan : _options.EffectiveActivityTimeout);
        var deadline = request.Grpc ? GrpcDeadline(http.Request) : null;
        if (deadline is { } callDeadline)
        {
            cancel.SetDeadline(callDeadline);
        }
        if (request.Body is not null)
        {
            request.Body.UpstreamTimeout = cancel;
        }
        var started = Stopwatch.GetTimestamp();
        HttpResponseMessage response;
        try
        {
            response = await _invoker.SendAsync(message, cancel.Token);
        }
        catch (Exception ex)
        {
            await StopBodyAsync(request.Body);
            var failed = Classify(http, request.Body, cancel, ex);
            if (failed.Outcome == ForwardOutcome.ClientAborted && deadline is { } d && Stopwatch.GetElapsedTime(started) >= d - DeadlineMargin)
            {
                // The client gave up at its deadline, before the instance answered at all: the instance's
                // silence, as when the node's own copy of the deadline fires first.
                return failed with { Outcome = ForwardOutcome.Timeout };
            }
            return failed;
        }
        if (deadline is not null)
        {
            cancel.ClearDeadline();
        }
        var status = (int)response.StatusCode;
        metrics.UpstreamDuration(request.Image, Stopwatch.GetElapsedTime(started), DataplaneMetrics.StatusClass(status));
        using (response)
        {
            if (status > 599)
            {
                // RFC 9110 §15: not a status a client can read (HttpClient takes 100-999); as the HTTP/1.1 client refuses it.
                return new ForwardResult(ForwardOutcome.UpstreamFailed, 0, new HttpRequestException($"The instance sent status {status}."));
            }
            try
            {
                try
                {
                    http.Response.StatusCode = status;
                    ProxyHeaders.CopyResponseHeaders(response, http.Response);
                    ReasonPhrase.Relay(http, ReasonPhrase.Custom(status, response.ReasonPhrase));
                }
                catch (InvalidOperationException ex)
                {
                    // A field Kestrel refuses as the instance sent it: a broken response, and nothing has gone out yet.
                    return new ForwardResult(ForwardOutcome.UpstreamFailed, 0, ex);
                }
                http.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
                var grpcMessages = request.Grpc && status == StatusCodes.Status200OK && ProxyHandler.IsGrpcContentType(http.Response.ContentType);
                var (outcome, bytes, failure) = await CopyResponseBodyAsync(http, response, cancel, grpcMessages);
                // The instance's part is over; what follows waits on the client only.
                cancel.Stop();
                if (outcome == ForwardOutcome.Completed)
                {
                    ProxyHeaders.CopyTrailers(response, http.Response);
                }
                else if (outcome is ForwardOutcome.ResponseBodyFailed or ForwardOutcome.LostBetweenMessages)
                {
                    if (!http.Response.HasStarted && bytes == 0)
                    {
                        // Nothing of the answer has gone out: the client gets the proxy's 502 instead.
                        return new ForwardResult(ForwardOutcome.UpstreamFailed, 0, failure);
                    }
                    if (outcome == ForwardOutcome.LostBetweenMessages && http.Response.SupportsTrailers())
                    {
                        // Every message the client got is whole, so the call can end as a gRPC call whose
                        // server went away ends: UNAVAILABLE, in the trailers of a stream that closes normally
                        // (a reset would reach the client as INTERNAL, PROTOCOL-HTTP2.md's RST_STREAM mapping).
                        ProxyErrorWriter.WriteGrpcStatusTrailers(http.Response, StatusCode.Unavailable, ProxyErrorCodes.BackendUnreachable, InstanceLostDetail);
                        ForwarderLog.GrpcCallLost(logger, request.Image, destination.Origin);
                        return new ForwardResult(outcome, status, failure, bytes);
                    }
                    // The client must not mistake a truncated body for a whole one: a gRPC client reads the
                    // reset (RST_STREAM INTERNAL_ERROR) as INTERNAL.
                    outcome = ForwardOutcome.ResponseBodyFailed;
                    ForwarderLog.ResponseBodyBrokenOff(logger, http, request.Image, destination.Origin, cancel, _options.EffectiveActivityTimeout);
                    http.Abort();
                }
                return new ForwardResult(outcome, status, failure, bytes);
            }
            finally
            {
                await StopBodyAsync(request.Body);
            }
        }
    }

    private static HttpRequestMessage CreateMessage(HttpContext http, ForwardRequest request, UpstreamDestination destination)
    {
        var incoming = http.Request;
        var message = new HttpRequestMessage(HttpMethod.Parse(incoming.Method), new Uri(destination.Origin + request.PathAndQuery, in Verbatim))
        {
            // gRPC needs HTTP/2 whatever the endpoint's metadata says; never up- or downgrade silently.
            Version = request.Grpc ? HttpVersion.Version20 : destination.Version,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        if (request.Body is not null)
        {
            request.Body.FlushHeadersFirst = message.Version == HttpVersion.Version20;
            message.Content = request.Body;
        }
        else if (incoming.Headers.ContentType.Count > 0 || incoming.Headers.ContentLength is not null)
        {
            // No body, but content headers to pass on (a POST with Content-Length: 0).
            message.Content = new ByteArrayContent([]);
        }
        ProxyHeaders.CopyRequestHeaders(http, message, request.ForwardedPrefix, request.RequestId);
        return message;
    }

    /// <summary>The grpc-message detail of a call whose instance was lost between two messages.</summary>
    private const string InstanceLostDetail = "the instance was lost mid-response";

    /// <summary>How much sooner than the node the client may see its deadline pass (it started its clock first).</summary>
    private static readonly TimeSpan DeadlineMargin = TimeSpan.FromMilliseconds(100);

    /// <summary>A gRPC call's deadline from its grpc-timeout; null when it has none the node can keep (absent, malformed, beyond a timer's range).</summary>
    private static TimeSpan? GrpcDeadline(HttpRequest request) =>
        ControlPlane.Grpc.Protocol.GrpcTimeout.TryParse(request.Headers["grpc-timeout"].ToString(), out var timeout) && timeout <= ControlPlane.Grpc.Protocol.GrpcTimeout.Longest
            ? timeout
            : null;

    /// <summary>What an attempt that got no response means (both clients).</summary>
    internal static ForwardResult Classify(HttpContext http, StreamingRequestContent? body, UpstreamTimeout cancel, Exception ex)
    {
        if (http.RequestAborted.IsCancellationRequested)
        {
            return new(ForwardOutcome.ClientAborted, 0, ex);
        }
        if (body?.ClientError is { } clientError)
        {
            return new(ForwardOutcome.RequestBodyFailed, 0, clientError);
        }
        if (UpstreamConnectException.Find(ex) is { } connect)
        {
            return new(ForwardOutcome.ConnectFailed, 0, connect);
        }
        if (body is { RefusedAfterBody: true } || IsRefusedStream(ex))
        {
            // HttpClient has sent it again on fresh streams already when it could (StreamingRequestContent).
            return new(ForwardOutcome.Refused, 0, ex);
        }
        if (ex is OperationCanceledException && cancel.IsCancellationRequested)
        {
            return new(ForwardOutcome.Timeout, 0, ex);
        }
        return new(ForwardOutcome.UpstreamFailed, 0, ex);
    }

    /// <summary>The instance reset the stream with REFUSED_STREAM (0x7, RFC 9113 §7), as HttpClient read it from the wire.</summary>
    private static bool IsRefusedStream(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is HttpProtocolException { ErrorCode: 0x7 })
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// How a failed write to the client's response ended: Kestrel refusing what the instance sent
    /// (<see cref="InvalidOperationException"/>, e.g. content for a 205) is the instance's broken
    /// response; anything else is the client gone.
    /// </summary>
    internal static ForwardOutcome WriteFailure(HttpContext http, Exception ex) =>
        ex is InvalidOperationException && !http.RequestAborted.IsCancellationRequested ? ForwardOutcome.ResponseBodyFailed : ForwardOutcome.ClientAborted;

    /// <summary>
    /// Relays the body as it arrives. Headers go out before the first chunk, or at once when the
    /// instance has not sent one yet (a gRPC server stream may wait long before its first message,
    /// and the client needs the headers meanwhile); an empty body finishes the response with the
    /// headers alone, so a gRPC Trailers-Only answer stays Trailers-Only. Each wait for the instance's
    /// next bytes is timed by <paramref name="cancel"/>; waits on the client are not. Also returns the
    /// body bytes handed to the client, and what failed. With <paramref name="grpcMessages"/> (a gRPC
    /// answer) it follows the messages relayed, and an instance lost between two of them is
    /// <see cref="ForwardOutcome.LostBetweenMessages"/>.
    /// </summary>
    private static async ValueTask<(ForwardOutcome, long, Exception?)> CopyResponseBodyAsync(HttpContext http, HttpResponseMessage response, UpstreamTimeout cancel, bool grpcMessages)
    {
        var cancellationToken = cancel.Token;
        Stream body;
        try
        {
            // SocketsHttpHandler's content hands over its stream synchronously: no task for it.
            body = response.Content.ReadAsStream(cancellationToken);
        }
        catch (Exception ex) when (!http.RequestAborted.IsCancellationRequested)
        {
            return (ForwardOutcome.ResponseBodyFailed, 0, ex);
        }
        catch (Exception ex)
        {
            return (ForwardOutcome.ClientAborted, 0, ex);
        }
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        long sent = 0;
        var messages = new GrpcMessageTracker();
        try
        {
            cancel.Restart();
            var read = ReadAsync(body, buffer, cancellationToken);
            if (!read.IsCompleted)
            {
                var (started, startFailure) = await TryStartAsync(http, cancel);
                if (!started)
                {
                    await Ignore(read);
                    return (startFailure is null ? ForwardOutcome.ClientAborted : WriteFailure(http, startFailure), 0, startFailure);
                }
            }
            while (true)
            {
                int count;
                try
                {
                    count = await read;
                }
                catch (Exception ex)
                {
                    var lost = grpcMessages && messages.AtMessageBoundary ? ForwardOutcome.LostBetweenMessages : ForwardOutcome.ResponseBodyFailed;
                    return (http.RequestAborted.IsCancellationRequested ? ForwardOutcome.ClientAborted : lost, sent, ex);
                }
                if (count == 0)
                {
                    return (ForwardOutcome.Completed, sent, null);
                }
                try
                {
                    var flush = await cancel.OnClientAsync(http.Response.BodyWriter.WriteAsync(buffer.AsMemory(0, count), cancellationToken));
                    if (flush.IsCanceled || flush.IsCompleted)
                    {
                        return (ForwardOutcome.ClientAborted, sent, null);
                    }
                }
                catch (Exception ex)
                {
                    return (WriteFailure(http, ex), sent, ex);
                }
                sent += count;
                if (grpcMessages)
                {
                    messages.Advance(buffer.AsSpan(0, count));
                }
                cancel.Restart();
                read = ReadAsync(body, buffer, cancellationToken);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// A read of the instance's body whose failure always shows in the returned read: SocketsHttpHandler
    /// parses chunk framing already buffered before it returns, and throws there when it is broken.
    /// </summary>
    private static ValueTask<int> ReadAsync(Stream body, byte[] buffer, CancellationToken cancellationToken)
    {
        try
        {
            return body.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception ex)
        {
            return ValueTask.FromException<int>(ex);
        }
    }

    /// <summary>Sends the headers; false when the client is gone or Kestrel refused them (then with what it threw).</summary>
    private static async Task<(bool Started, Exception? Failure)> TryStartAsync(HttpContext http, UpstreamTimeout cancel)
    {
        try
        {
            // A flush, not just StartAsync: Kestrel sends started headers with the next flush only.
            var flush = await cancel.OnClientAsync(http.Response.BodyWriter.FlushAsync(cancel.Token));
            return (!flush.IsCanceled && !flush.IsCompleted, null);
        }
        catch (Exception ex) when (http.RequestAborted.IsCancellationRequested || cancel.IsCancellationRequested || ex is InvalidOperationException)
        {
            return (false, ex is InvalidOperationException ? ex : null);
        }
    }

    private static async Task Ignore(ValueTask<int> read)
    {
        try
        {
            await read;
        }
        catch (Exception)
        {
            // The client is gone; what the instance does now does not matter.
        }
    }

    /// <summary>The exchange is over: make sure nothing still reads the client's body before the request ends.</summary>
    private static Task StopBodyAsync(StreamingRequestContent? body) => body is null ? Task.CompletedTask : body.StopAsync();
}
