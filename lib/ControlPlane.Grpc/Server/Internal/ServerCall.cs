using System.IO.Pipelines;
using ControlPlane.Grpc.Compression;
using ControlPlane.Grpc.Protocol;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace ControlPlane.Grpc.Server.Internal;

/// <summary>
/// One gRPC call on the server: the protocol state machine between Kestrel's HTTP/2 stream and a
/// handler. It reads request messages, writes response messages, enforces the deadline, and ends
/// the call with exactly one status (PROTOCOL-HTTP2.md). All response writes happen inside
/// <see cref="_writeGate"/>, so the deadline timer and the handler never write at once.
/// </summary>
internal sealed class ServerCall<TRequest, TResponse> : ServerCallContext, IServerCallMessages<TRequest, TResponse>
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>
{
    private readonly ServerMethodContext<TRequest> _method;
    private readonly HttpContext _http;
    private readonly CancellationTokenSource _cts = new();
    private readonly WriteGate _writeGate = new();
    private Metadata? _requestHeaders;
    private Metadata? _responseTrailers;
    private Dictionary<object, object?>? _userState;
    private ICompressionProvider? _requestDecompressor;
    private string? _requestEncoding;
    private ICompressionProvider? _responseCompressor;
    private ITimer? _deadlineTimer;
    private TimeSpan _timeout;
    private DateTime _deadline = DateTime.MaxValue;
    private volatile bool _deadlineExceeded;
    private volatile bool _clientGone;
    private bool _headersSent;
    private bool _completed;
    private TRequest? _current;
    private Queue<TRequest>? _buffered;

    public ServerCall(ServerMethodContext<TRequest> method, HttpContext http)
    {
        _method = method;
        _http = http;
    }

    public override MethodDescriptor Method => _method.Method;

    public override string MethodPath => _method.Path;

    public override string Peer
    {
        get
        {
            var c = _http.Connection;
            return c.RemoteIpAddress is null
                ? "unknown"
                : (c.RemoteIpAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "ipv6:[" + c.RemoteIpAddress + "]:" : "ipv4:" + c.RemoteIpAddress + ":") + c.RemotePort;
        }
    }

    public override DateTime Deadline => _deadline;

    public override CancellationToken CancellationToken => _cts.Token;

    public override Metadata RequestHeaders => _requestHeaders ??= ReadRequestHeaders();

    public override Metadata ResponseTrailers => _responseTrailers ??= [];

    public override string? RequestEncoding => _requestEncoding;

    public override string? ResponseCompression { get; set; }

    public override Status Status { get; set; } = Status.DefaultSuccess;

    public override HttpContext HttpContext => _http;

    public override IDictionary<object, object?> UserState => _userState ??= [];

    TRequest IAsyncStreamReader<TRequest>.Current => _current ?? throw new InvalidOperationException("MoveNext has not returned true.");

    /// <summary>Runs the call from the first request byte to the status.</summary>
    public async Task RunAsync(ServerCallContinuation pipeline)
    {
        var request = _http.Request;
        if (!HttpProtocol.IsHttp2(request.Protocol))
        {
            // gRPC needs HTTP/2 (trailers, full duplex); say so plainly to HTTP/1.x callers, with the
            // protocol to upgrade to, which a 426 must name (RFC 9110 §15.5.22).
            _http.Response.Headers.Upgrade = request.IsHttps ? "h2" : "h2c";
            _http.Response.Headers.Connection = "Upgrade";
            await RefuseAsync(StatusCodes.Status426UpgradeRequired, StatusCode.Internal, $"Request protocol '{request.Protocol}' is not supported; gRPC requires HTTP/2.");
            return;
        }
        var formatSupported = GrpcProtocol.IsGrpcContentType(request.ContentType);
        if (!formatSupported && !GrpcProtocol.IsGrpcFamily(request.ContentType))
        {
            await RefuseAsync(StatusCodes.Status415UnsupportedMediaType, StatusCode.Internal, $"Content-Type '{request.ContentType}' is not supported; use 'application/grpc'.");
            return;
        }

        using var abortRegistration = _http.RequestAborted.Register(static s => ((ServerCall<TRequest, TResponse>)s!).Abort(), this);
        var status = Status.DefaultSuccess;
        try
        {
            RequireExactPath();
            if (!formatSupported)
            {
                // A gRPC client in another message format (application/grpc+json): a gRPC answer, not a 415 it cannot read.
                throw new RpcException(StatusCode.Unimplemented, $"Content-Type '{TextLimit.Cut(request.ContentType!, 64)}' is not supported: this server's messages are protobuf ('application/grpc' or 'application/grpc+proto').");
            }
            Setup();
            await pipeline(this);
            status = Status;
        }
        catch (Exception ex)
        {
            status = StatusFromException(ex);
        }
        finally
        {
            _deadlineTimer?.Dispose();
        }
        await EndCallAsync(status);
        _cts.Dispose();
    }

    /// <summary>Reads the one request message of a unary or server-streaming call.</summary>
    public async ValueTask<TRequest> ReadSingleRequestAsync()
    {
        var message = await ReadMessageAsync(_cts.Token)
            ?? throw new RpcException(StatusCode.Internal, "Incomplete request: the call has no request message.");
        if (await ReadMessageAsync(_cts.Token) is not null)
        {
            throw new RpcException(StatusCode.Internal, "Additional data after the request message: this method takes exactly one.");
        }
        return message;
    }

    Task<bool> IAsyncStreamReader<TRequest>.MoveNext(CancellationToken cancellationToken)
    {
        // Messages that arrived together are parsed together; hand them out without reading again.
        if (_buffered is { Count: > 0 } && !_cts.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            _current = _buffered.Dequeue();
            return Task.FromResult(true);
        }
        return ReadNextAsync(cancellationToken);
    }

    private async Task<bool> ReadNextAsync(CancellationToken cancellationToken)
    {
        _buffered ??= new Queue<TRequest>();
        _buffered.Clear();
        _current = null;
        // The read waits on the call's token; the caller's (a long-lived stream's loop token, usually)
        // cancels it through one registration, rather than a linked source per message.
        using var registration = cancellationToken.CanBeCanceled && cancellationToken != _cts.Token
            ? cancellationToken.UnsafeRegister(static s => ((ServerCall<TRequest, TResponse>)s!).CancelPendingRead(), this)
            : default;
        while (true)
        {
            try
            {
                await MessageFraming.ReadBufferedMessagesAsync(
                    _http.Request.BodyReader, _method.RequestParser, _requestDecompressor, _requestEncoding, _method.Options.MaxReceiveMessageSize, _buffered, _cts.Token);
                break;
            }
            catch (Exception ex) when (IsReadAbort(ex))
            {
                throw ReadCancelled(ex);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !_cts.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && !_cts.IsCancellationRequested)
            {
                // A cancellation meant for an earlier read (its token fired as that read completed): read again.
            }
        }
        if (_buffered.Count == 0)
        {
            return false;
        }
        _current = _buffered.Dequeue();
        return true;
    }

    private void CancelPendingRead()
    {
        try
        {
            _http.Request.BodyReader.CancelPendingRead();
        }
        catch (Exception)
        {
            // The body already ended (the client reset the stream, or the call completed): no read waits.
        }
    }

    public Task WriteAsync(TResponse message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return WriteMessageAsync(message, flush: true, cancellationToken);
    }

    /// <summary>Writes a response message; unary calls skip the flush so message and trailers leave together.</summary>
    public async Task WriteMessageAsync(TResponse message, bool flush, CancellationToken cancellationToken = default)
    {
        await _writeGate.EnterAsync(cancellationToken);
        try
        {
            ThrowIfCompleted();
            StartResponse();
            MessageFraming.WriteMessage(_http.Response.BodyWriter, message, _responseCompressor, _method.Options.ResponseCompressionLevel, _method.Options.MaxSendMessageSize);
            if (flush)
            {
                var token = cancellationToken.CanBeCanceled ? cancellationToken : _cts.Token;
                var result = await _http.Response.BodyWriter.FlushAsync(token);
                if (result.IsCanceled || result.IsCompleted)
                {
                    ThrowIfCompleted();
                }
            }
        }
        catch (Exception ex) when (IsClientReset(ex))
        {
            throw ClientLeft(ex, "writing a response message");
        }
        finally
        {
            _writeGate.Exit();
        }
    }

    public override async Task WriteResponseHeadersAsync(Metadata responseHeaders)
    {
        ArgumentNullException.ThrowIfNull(responseHeaders);
        await _writeGate.EnterAsync(_cts.Token);
        try
        {
            ThrowIfCompleted();
            if (_headersSent)
            {
                throw new InvalidOperationException("Response headers have already been sent.");
            }
            foreach (var entry in responseHeaders)
            {
                _http.Response.Headers.Append(entry.Key, MetadataEncoding.WireValue(entry));
            }
            StartResponse();
            await _http.Response.BodyWriter.FlushAsync(_cts.Token);
        }
        catch (Exception ex) when (IsClientReset(ex))
        {
            throw ClientLeft(ex, "writing the response headers");
        }
        finally
        {
            _writeGate.Exit();
        }
    }

    /// <summary>
    /// The :path must be the method's exactly (PROTOCOL-HTTP2.md: "/" Service-Name "/" {method name}),
    /// as grpc-go matches it. Routing alone would also take another case, a trailing slash, dot-segments,
    /// escapes or a query, and a proxy's path-based rule (RBAC, a deny-list) written for the exact path
    /// would then not apply to a call that still reaches the method. Anything else is UNIMPLEMENTED.
    /// </summary>
    private void RequireExactPath()
    {
        var target = _http.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (target is not null && !string.Equals(target, _method.Path, StringComparison.Ordinal))
        {
            var shown = target.Length <= 256 ? target : target[..256] + "...";
            throw new RpcException(StatusCode.Unimplemented, $"Method not found: '{shown}' is not a method's path (expected exactly '{_method.Path}').");
        }
    }

    private void Setup()
    {
        var headers = _http.Request.Headers;
        var encoding = headers[GrpcProtocol.EncodingHeader].ToString();
        if (encoding.Length > 0 && !encoding.Equals(GrpcProtocol.IdentityEncoding, StringComparison.OrdinalIgnoreCase))
        {
            _requestEncoding = encoding;
            _requestDecompressor = _method.Providers.Find(encoding);
            if (_requestDecompressor is null)
            {
                // PROTOCOL-HTTP2.md: an unsupported encoding is UNIMPLEMENTED, with what we do accept.
                throw new RpcException(StatusCode.Unimplemented, $"Unsupported grpc-encoding value '{encoding}'. Supported encodings: {_method.Providers.AcceptEncoding}");
            }
        }

        // Present but empty is malformed too (grpc-go refuses it), not "no deadline".
        var timeoutSent = headers.TryGetValue(GrpcProtocol.TimeoutHeader, out var timeoutValues);
        var timeoutHeader = timeoutValues.ToString();
        if (timeoutSent && !GrpcTimeout.TryParse(timeoutHeader, out _))
        {
            // A deadline the client meant to set but wrote wrong must not become no deadline (grpc-go: INTERNAL).
            var shown = timeoutHeader.Length <= 32 ? timeoutHeader : timeoutHeader[..32] + "...";
            throw new RpcException(StatusCode.Internal, $"Malformed grpc-timeout '{shown}': expected 1 to 8 digits and a unit (H, M, S, m, u, n).");
        }
        if (timeoutHeader.Length > 0 && GrpcTimeout.TryParse(timeoutHeader, out var timeout) && timeout <= GrpcTimeout.Longest)
        {
            var clock = _method.Options.TimeProvider;
            _timeout = timeout;
            _deadline = clock.GetUtcNow().UtcDateTime + timeout;
            if (timeout <= TimeSpan.Zero)
            {
                _deadlineExceeded = true;
                throw new RpcException(StatusCode.DeadlineExceeded, "Deadline Exceeded");
            }
            _deadlineTimer = clock.CreateTimer(static s => _ = ((ServerCall<TRequest, TResponse>)s!).DeadlineExceededAsync(), this, timeout, Timeout.InfiniteTimeSpan);
        }

        // Streams may legitimately outlive Kestrel's body size and data-rate limits (long watches).
        if (_http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = null;
        }
        if (_http.Features.Get<IHttpMinRequestBodyDataRateFeature>() is { } rateFeature)
        {
            rateFeature.MinDataRate = null;
        }
    }

    // ValueTask: a message that is already buffered (the common case) costs no allocation.
    private async ValueTask<TRequest?> ReadMessageAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await MessageFraming.ReadMessageAsync(
                _http.Request.BodyReader, _method.RequestParser, _requestDecompressor, _requestEncoding, _method.Options.MaxReceiveMessageSize, cancellationToken);
        }
        catch (Exception ex) when (IsReadAbort(ex))
        {
            throw ReadCancelled(ex);
        }
    }

    private bool IsReadAbort(Exception ex) =>
        IsClientReset(ex) || (ex is InvalidOperationException && _cts.IsCancellationRequested);

    private static bool IsClientReset(Exception ex) =>
        ex is ConnectionAbortedException or ConnectionResetException || ex is IOException and not BadHttpRequestException;

    private OperationCanceledException ReadCancelled(Exception ex) =>
        IsClientReset(ex)
            ? ClientLeft(ex, "reading a request message")
            : new OperationCanceledException("The call was cancelled while reading a request message.", ex, _cts.Token);

    /// <summary>
    /// The client reset the stream (RST_STREAM) or the connection dropped, seen by a read or a write.
    /// Kestrel fails the body at once but sets RequestAborted later, from the thread pool: the client
    /// has left, so the call is cancelled now (CANCELLED, nothing logged as an error), not failed by the handler.
    /// </summary>
    private OperationCanceledException ClientLeft(Exception ex, string doing)
    {
        _clientGone = true;
        Abort();
        return new OperationCanceledException($"The call was cancelled while {doing}: the client has left.", ex, _cts.Token);
    }

    /// <summary>The client cancelled or the connection is lost (possibly seen before RequestAborted is set).</summary>
    private bool ClientGone => _clientGone || _http.RequestAborted.IsCancellationRequested;

    private void StartResponse()
    {
        if (_headersSent)
        {
            return;
        }
        _headersSent = true;
        var response = _http.Response;
        response.ContentType = GrpcProtocol.ContentType;
        response.Headers[GrpcProtocol.AcceptEncodingHeader] = _method.Providers.AcceptEncoding;
        var compression = ResponseCompression ?? _method.DefaultResponseCompression;
        if (compression is not null
            && CompressionProviders.Accepts(_http.Request.Headers[GrpcProtocol.AcceptEncodingHeader].ToString(), compression)
            && _method.Providers.Find(compression) is { } provider)
        {
            _responseCompressor = provider;
            response.Headers[GrpcProtocol.EncodingHeader] = provider.EncodingName;
        }
    }

    private void ThrowIfCompleted()
    {
        if (_completed)
        {
            if (_cts.IsCancellationRequested)
            {
                throw new OperationCanceledException("The call is over: its deadline passed or the client cancelled it.", _cts.Token);
            }
            throw new InvalidOperationException("Can't write the message because the call is complete.");
        }
    }

    private Status StatusFromException(Exception ex)
    {
        if (_deadlineExceeded)
        {
            return new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }
        switch (ex)
        {
            case RpcException rpc:
                foreach (var entry in rpc.Trailers)
                {
                    ResponseTrailers.Add(entry);
                }
                if (rpc.StatusCode is StatusCode.Internal or StatusCode.ResourceExhausted or StatusCode.Unimplemented)
                {
                    ServerLog.ProtocolError(_method.Logger, _method.Path, rpc.StatusCode, rpc.Status.Detail);
                }
                return rpc.Status;
            case OperationCanceledException when ClientGone:
                return new Status(StatusCode.Cancelled, "Call canceled by the client.");
            default:
                if (ClientGone)
                {
                    // Whatever the handler tripped over, the client left first.
                    return new Status(StatusCode.Cancelled, "Call canceled by the client.");
                }
                ServerLog.HandlerFailed(_method.Logger, _method.Path, ex);
                var detail = _method.Options.EnableDetailedErrors
                    ? $"Exception was thrown by handler. {ex.GetType().Name}: {ex.Message}"
                    : "Exception was thrown by handler.";
                return new Status(StatusCode.Unknown, detail);
        }
    }

    private void Abort()
    {
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>How long the deadline's status waits for a write in progress to finish before the stream is reset instead.</summary>
    internal static readonly TimeSpan DeadlineStatusGrace = TimeSpan.FromSeconds(1);

    /// <summary>RST_STREAM CANCEL (RFC 9113 §7).</summary>
    private const int Http2Cancel = 0x8;

    private async Task DeadlineExceededAsync()
    {
        _deadlineExceeded = true;
        ServerLog.DeadlineExceeded(_method.Logger, _method.Path, _timeout);
        // The status follows any write in progress, which is left to finish rather than cancelled
        // (Kestrel resets a stream whose write is cancelled with INTERNAL_ERROR, which clients read as
        // INTERNAL). A write the client's flow control holds back (a client that stopped reading) would
        // hold the status, and the stream, indefinitely: past a short grace the stream is reset with
        // CANCEL instead, as PROTOCOL-HTTP2.md has servers do when a call's payload cannot be completed.
        var entered = _writeGate.EnterAsync();
        if (!entered.IsCompleted)
        {
            try
            {
                await entered.WaitAsync(DeadlineStatusGrace, _method.Options.TimeProvider);
            }
            catch (TimeoutException)
            {
                // Reset while this waiter still stands before the call's own end in the gate's queue, so
                // the request cannot finish (and Kestrel reuse its context) first; the gate comes to this
                // waiter once the write fails, and it passes it on.
                _completed = true;
                ResetStream();
                Abort();
                _ = entered.ContinueWith(static (_, gate) => ((WriteGate)gate!).Exit(), _writeGate, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                return;
            }
        }
        Abort();
        await EndCallHoldingGateAsync(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"), complete: true);
    }

    private void ResetStream()
    {
        if (_http.Features.Get<IHttpResetFeature>() is { } reset)
        {
            reset.Reset(Http2Cancel);
        }
        else
        {
            _http.Abort();
        }
    }

    /// <summary>Sends the status once: as Trailers-Only when nothing was sent yet, else as trailers.</summary>
    private async Task EndCallAsync(Status status, bool complete = false)
    {
        await _writeGate.EnterAsync();
        await EndCallHoldingGateAsync(status, complete);
    }

    /// <summary><see cref="EndCallAsync"/> once the write gate is held; it gives the gate back.</summary>
    private async Task EndCallHoldingGateAsync(Status status, bool complete)
    {
        try
        {
            if (_completed)
            {
                return;
            }
            _completed = true;
            if (ClientGone)
            {
                return;
            }
            var response = _http.Response;
            if (!_headersSent && !response.HasStarted)
            {
                // Trailers-Only: status and trailing metadata in the one HEADERS frame.
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentType = GrpcProtocol.ContentType;
                response.Headers[GrpcProtocol.AcceptEncodingHeader] = _method.Providers.AcceptEncoding;
                MetadataEncoding.WriteStatus(status, (k, v) => response.Headers[k] = v);
                if (_responseTrailers is not null)
                {
                    foreach (var entry in _responseTrailers)
                    {
                        response.Headers.Append(entry.Key, MetadataEncoding.WireValue(entry));
                    }
                }
            }
            else
            {
                MetadataEncoding.WriteStatus(status, (k, v) => response.AppendTrailer(k, v));
                if (_responseTrailers is not null)
                {
                    foreach (var entry in _responseTrailers)
                    {
                        response.AppendTrailer(entry.Key, MetadataEncoding.WireValue(entry));
                    }
                }
            }
            if (complete)
            {
                // The handler may still be running (it ignored cancellation): finish the stream now.
                await response.CompleteAsync();
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or ConnectionAbortedException or ObjectDisposedException)
        {
            ServerLog.StatusWriteFailed(_method.Logger, _method.Path, ex);
        }
        finally
        {
            _writeGate.Exit();
        }
    }

    private async Task RefuseAsync(int httpStatus, StatusCode code, string detail)
    {
        ServerLog.CallRefused(_method.Logger, _method.Path, detail);
        var response = _http.Response;
        response.StatusCode = httpStatus;
        response.ContentType = "text/plain";
        MetadataEncoding.WriteStatus(new Status(code, detail), (k, v) => response.Headers[k] = v);
        await response.WriteAsync(detail);
    }

    private Metadata ReadRequestHeaders()
    {
        var metadata = new Metadata();
        foreach (var header in _http.Request.Headers)
        {
            foreach (var value in header.Value)
            {
                MetadataEncoding.AddReceived(metadata, header.Key, value);
            }
        }
        return metadata;
    }
}
