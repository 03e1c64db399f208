using System.IO.Pipelines;
using System.Net;
using System.Net.Http.Headers;
using ControlPlane.Grpc.Compression;
using ControlPlane.Grpc.Protocol;
using Google.Protobuf;

namespace ControlPlane.Grpc.Client.Internal;

/// <summary>
/// One client call over an HTTP/2 stream: sends the request headers and messages, reads the
/// response headers, messages and trailers, and resolves exactly one <see cref="Status"/>
/// (PROTOCOL-HTTP2.md). All four call shapes use it; the public call objects are views of it.
/// </summary>
internal sealed class GrpcCall<TRequest, TResponse> : IAsyncStreamReader<TResponse>, IClientStreamWriter<TRequest>, IDisposable
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private readonly GrpcChannel _channel;
    private readonly Method<TRequest, TResponse> _method;
    private readonly CallOptions _options;
    private readonly CancellationTokenSource _cts;
    private readonly TaskCompletionSource<Metadata> _headersTcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<Status> _statusTcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly ICompressionProvider? _requestCompressor;
    private readonly DateTime? _deadline;
    private ITimer? _deadlineTimer;
    private CancellationTokenRegistration _userCancellation;
    private Task<HttpResponseMessage>? _sendTask;
    private HttpResponseMessage? _response;
    private PipeReader? _responseReader;
    private ICompressionProvider? _responseDecompressor;
    private string? _responseEncoding;
    private StreamingContent? _requestContent;
    private Metadata? _trailers;
    private TResponse? _current;
    private bool _deadlineExceeded;
    private bool _requestCompleted;
    private int _disposed;

    public GrpcCall(GrpcChannel channel, Method<TRequest, TResponse> method, CallOptions options)
    {
        _channel = channel;
        _method = method;
        _options = options;
        _cts = new CancellationTokenSource();
        var compression = options.RequestCompression ?? channel.Options.RequestCompression;
        if (compression is not null && !compression.Equals(GrpcProtocol.IdentityEncoding, StringComparison.OrdinalIgnoreCase))
        {
            _requestCompressor = channel.Options.CompressionProviders.Find(compression)
                ?? throw new ArgumentException($"No compression provider for '{compression}'.", nameof(options));
        }
        _deadline = options.Deadline;
        if (options.Timeout is { } timeout)
        {
            var byTimeout = channel.Options.TimeProvider.GetUtcNow().UtcDateTime + timeout;
            _deadline = _deadline is { } d && d < byTimeout ? d : byTimeout;
        }
    }

    public Task<Metadata> ResponseHeadersAsync => _headersTcs.Task;

    public Task<Status> StatusTask => _statusTcs.Task;

    TResponse IAsyncStreamReader<TResponse>.Current => _current ?? throw new InvalidOperationException("MoveNext has not returned true.");

    /// <summary>The call's status; throws until the call has ended.</summary>
    public Status GetStatus() =>
        _statusTcs.Task.IsCompletedSuccessfully ? _statusTcs.Task.Result : throw new InvalidOperationException("The call has not ended yet.");

    public Metadata GetTrailers() =>
        _statusTcs.Task.IsCompletedSuccessfully ? _trailers ?? [] : throw new InvalidOperationException("The call has not ended yet.");

    /// <summary>Starts the call. <paramref name="request"/> is the single request of unary and server-streaming calls.</summary>
    public void Start(TRequest? request)
    {
        if (_options.CancellationToken.IsCancellationRequested)
        {
            Finish(new Status(StatusCode.Cancelled, "Call canceled by the client."), []);
            return;
        }
        _channel.CallStarted(this);
        _userCancellation = _options.CancellationToken.Register(static s => ((GrpcCall<TRequest, TResponse>)s!).Cancel(), this);

        var message = new HttpRequestMessage(HttpMethod.Post, new Uri(_channel.Address, _method.Path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        HttpContent content;
        if (request is not null)
        {
            byte[] framed;
            try
            {
                framed = MessageFraming.FrameMessage(request, _requestCompressor, _channel.Options.CompressionLevel, _channel.Options.MaxSendMessageSize);
            }
            catch (RpcException ex)
            {
                Finish(ex.Status, []);
                return;
            }
            content = new ByteArrayContent(framed);
        }
        else
        {
            content = _requestContent = new StreamingContent();
        }
        content.Headers.ContentType = new MediaTypeHeaderValue(GrpcProtocol.ContentType);
        message.Content = content;
        var headers = message.Headers;
        headers.TryAddWithoutValidation(GrpcProtocol.TeHeader, "trailers");
        headers.TryAddWithoutValidation("user-agent", GrpcChannel.UserAgent);
        headers.TryAddWithoutValidation(GrpcProtocol.AcceptEncodingHeader, _channel.Options.CompressionProviders.AcceptEncoding);
        if (_requestCompressor is not null)
        {
            headers.TryAddWithoutValidation(GrpcProtocol.EncodingHeader, _requestCompressor.EncodingName);
        }
        if (_deadline is { } deadline)
        {
            var remaining = deadline - _channel.Options.TimeProvider.GetUtcNow().UtcDateTime;
            if (remaining <= TimeSpan.Zero)
            {
                _deadlineExceeded = true;
                Finish(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"), []);
                return;
            }
            headers.TryAddWithoutValidation(GrpcProtocol.TimeoutHeader, GrpcTimeout.Format(remaining));
            _deadlineTimer = _channel.Options.TimeProvider.CreateTimer(static s => ((GrpcCall<TRequest, TResponse>)s!).OnDeadline(), this, remaining, Timeout.InfiniteTimeSpan);
        }
        if (_options.Headers is { } custom)
        {
            foreach (var entry in custom)
            {
                headers.TryAddWithoutValidation(entry.Key, MetadataEncoding.WireValue(entry));
            }
        }
        _sendTask = _channel.SendAsync(message, _cts.Token);
        _ = ObserveHeadersAsync();
    }

    // ---- reading ------------------------------------------------------------------------------

    /// <summary>The single response of a unary or client-streaming call.</summary>
    public async Task<TResponse> GetResponseAsync()
    {
        if (!await EnsureResponseAsync().ConfigureAwait(false))
        {
            throw StatusException();
        }
        TResponse? message;
        _reading = true;
        try
        {
            message = await ReadNextAsync(_cts.Token).ConfigureAwait(false);
            if (message is not null && await ReadNextAsync(_cts.Token).ConfigureAwait(false) is not null)
            {
                throw Fail(new Status(StatusCode.Internal, "The server sent more than one response message to a call that takes one."));
            }
        }
        catch (RpcException ex) when (!_statusTcs.Task.IsCompleted)
        {
            throw FailAndReset(ex);
        }
        catch (RpcException)
        {
            throw;
        }
        catch (Exception ex)
        {
            throw Fail(StatusFromException(ex, "Error reading the response"), ex);
        }
        finally
        {
            _reading = false;
        }
        FinishFromTrailers();
        var status = _statusTcs.Task.Result;
        if (status.StatusCode != StatusCode.OK)
        {
            throw StatusException();
        }
        return message ?? throw Fail(new Status(StatusCode.Internal, "The server ended the call with OK but sent no response message."));
    }

    /// <summary>
    /// A read of the response is waiting (gRPC allows one at a time): once the headers are in, only a
    /// read records the status the server ended the call with.
    /// </summary>
    private volatile bool _reading;

    /// <summary>Whether the call's status can still be recorded without a new read: from headers still to come (Trailers-Only), or by a read in progress.</summary>
    private bool StatusMayArrive => !_headersTcs.Task.IsCompleted || _reading;

    async Task<bool> IAsyncStreamReader<TResponse>.MoveNext(CancellationToken cancellationToken)
    {
        if (!await EnsureResponseAsync().ConfigureAwait(false))
        {
            ThrowIfNotOk();
            return false;
        }
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cts.Token) : null;
        _reading = true;
        try
        {
            _current = await ReadNextAsync(linked?.Token ?? _cts.Token).ConfigureAwait(false);
        }
        catch (RpcException ex) when (!_statusTcs.Task.IsCompleted)
        {
            throw FailAndReset(ex);
        }
        catch (RpcException)
        {
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !_cts.IsCancellationRequested)
        {
            // Only this read was cancelled, not the call.
            throw;
        }
        catch (Exception ex)
        {
            throw Fail(StatusFromException(ex, "Error reading the next message"), ex);
        }
        finally
        {
            _reading = false;
        }
        if (_current is not null)
        {
            return true;
        }
        FinishFromTrailers();
        ThrowIfNotOk();
        return false;
    }

    private async Task<TResponse?> ReadNextAsync(CancellationToken cancellationToken)
    {
        if (_statusTcs.Task.IsCompleted)
        {
            // Ended already (deadline, cancellation, or a status received).
            ThrowIfNotOk();
            return null;
        }
        return await MessageFraming.ReadMessageAsync(
            _responseReader!, _method.ResponseParser, _responseDecompressor, _responseEncoding, _channel.Options.MaxReceiveMessageSize, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Waits for the response headers; false when the call already has its status (Trailers-Only or failure).</summary>
    private async Task<bool> EnsureResponseAsync()
    {
        if (_responseReader is not null)
        {
            return true;
        }
        if (_sendTask is null)
        {
            return false;
        }
        await _headersTcs.Task.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).ConfigureAwait(false);
        return _responseReader is not null && !_statusTcs.Task.IsCompleted;
    }

    private async Task ObserveHeadersAsync()
    {
        HttpResponseMessage response;
        try
        {
            response = await _sendTask!.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var status = StatusFromException(ex, "Error starting gRPC call");
            Finish(status, []);
            _headersTcs.TrySetException(new RpcException(status, [], ex));
            return;
        }
        _response = response;
        var headerMetadata = new Metadata();
        foreach (var header in response.Headers)
        {
            foreach (var value in header.Value)
            {
                MetadataEncoding.AddReceived(headerMetadata, header.Key, value);
            }
        }

        var status200 = response.StatusCode == HttpStatusCode.OK;
        var trailersOnly = HeaderValue(response.Headers, GrpcProtocol.StatusHeader) is not null;
        if (!status200 && !trailersOnly)
        {
            // PROTOCOL-HTTP2.md / http-grpc-status-mapping.md: an HTTP error with no gRPC status.
            Finish(new Status(MapHttpStatus(response.StatusCode), $"Bad gRPC response. HTTP status code: {(int)response.StatusCode}"), headerMetadata);
            _headersTcs.TrySetResult(headerMetadata);
            response.Dispose();
            return;
        }
        if (trailersOnly)
        {
            Finish(ReadStatus(response.Headers) ?? new Status(StatusCode.Internal, "Malformed grpc-status header."), headerMetadata);
            _headersTcs.TrySetResult(headerMetadata);
            response.Dispose();
            return;
        }
        var contentType = response.Content.Headers.ContentType?.ToString();
        if (!GrpcProtocol.IsGrpcContentType(contentType))
        {
            Finish(new Status(StatusCode.Internal, $"Bad gRPC response. Invalid content-type value: {contentType ?? "(none)"}"), headerMetadata);
            _headersTcs.TrySetResult(headerMetadata);
            response.Dispose();
            return;
        }
        var encoding = HeaderValue(response.Headers, GrpcProtocol.EncodingHeader);
        if (encoding is not null && !encoding.Equals(GrpcProtocol.IdentityEncoding, StringComparison.OrdinalIgnoreCase))
        {
            _responseEncoding = encoding;
            _responseDecompressor = _channel.Options.CompressionProviders.Find(encoding);
            if (_responseDecompressor is null)
            {
                Finish(new Status(StatusCode.Internal, $"The server used grpc-encoding '{encoding}', which this client does not support."), headerMetadata);
                _headersTcs.TrySetResult(headerMetadata);
                response.Dispose();
                return;
            }
        }
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(_cts.Token).ConfigureAwait(false);
            _responseReader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4096));
        }
        catch (Exception ex)
        {
            Finish(StatusFromException(ex, "Error reading the response"), headerMetadata);
        }
        _headersTcs.TrySetResult(headerMetadata);
    }

    private void FinishFromTrailers()
    {
        if (_statusTcs.Task.IsCompleted)
        {
            return;
        }
        var response = _response!;
        // The body has ended, so the trailers have arrived.
        var trailers = new Metadata();
        foreach (var header in response.TrailingHeaders)
        {
            foreach (var value in header.Value)
            {
                MetadataEncoding.AddReceived(trailers, header.Key, value);
            }
        }
        var status = ReadStatus(response.TrailingHeaders)
            ?? new Status(StatusCode.Internal, "No grpc-status found on response.");
        Finish(status, trailers);
    }

    // ---- writing ------------------------------------------------------------------------------

    public async Task WriteAsync(TRequest message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        var content = _requestContent ?? throw new InvalidOperationException("This call has no request stream.");
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_requestCompleted)
            {
                throw new InvalidOperationException("Request stream has already been completed.");
            }
            ThrowIfEnded();
            byte[] framed = MessageFraming.FrameMessage(message, _requestCompressor, _channel.Options.CompressionLevel, _channel.Options.MaxSendMessageSize);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _cts.Token);
            var stream = await content.GetStreamAsync(linked.Token).ConfigureAwait(false);
            await stream.WriteAsync(framed, linked.Token).ConfigureAwait(false);
            await stream.FlushAsync(linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not RpcException && (ex is not InvalidOperationException || ex is ObjectDisposedException) && _statusTcs.Task.IsCompleted)
        {
            // The call ended while we wrote (its resources may already be released): report how it
            // ended, as the status is what matters.
            throw StatusException();
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException && !cancellationToken.IsCancellationRequested)
        {
            // The HTTP/2 stream ended under the write before the response side recorded the status
            // (a server that refuses a call answers at once and resets the request side): report the
            // call's status, which the response side sets right after.
            if (await HasStatusSoonAsync().ConfigureAwait(false))
            {
                throw StatusException();
            }
            throw WriteFailed(new Status(StatusCode.Unavailable, "The request stream was closed while writing a request message."), ex);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            // RST_STREAM NO_ERROR: the server sent its complete response and asks the client to stop
            // sending (RFC 9113 §8.1), e.g. a call refused before its request was read. Not an error of
            // the call: its status is in that response, which the response side records right after.
            if (IsNoError(ex))
            {
                if (await HasStatusSoonAsync().ConfigureAwait(false))
                {
                    throw StatusException();
                }
                throw WriteFailed(new Status(StatusCode.Unavailable, "The server ended the call while a request message was written; its status is in the response."), ex);
            }
            throw Fail(StatusFromException(ex, "Error writing a request message"), ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private static bool IsNoError(Exception ex)
    {
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is HttpProtocolException { ErrorCode: 0 })
            {
                return true;
            }
        }
        return false;
    }

    public async Task CompleteAsync()
    {
        var content = _requestContent ?? throw new InvalidOperationException("This call has no request stream.");
        await _writeLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_requestCompleted)
            {
                _requestCompleted = true;
                content.Complete();
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    // ---- ending -------------------------------------------------------------------------------

    private void OnDeadline()
    {
        _deadlineExceeded = true;
        Finish(new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded"), []);
        Cancel();
    }

    private void Cancel()
    {
        Finish(new Status(StatusCode.Cancelled, "Call canceled by the client."), []);
        // Cancelling the send resets the HTTP/2 stream (RST_STREAM CANCEL): the server sees a cancellation.
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        _requestContent?.Abort();
    }

    private bool Finish(Status status, Metadata trailers)
    {
        lock (_statusTcs)
        {
            if (_statusTcs.Task.IsCompleted)
            {
                return false;
            }
            _trailers = trailers;
            _statusTcs.SetResult(status);
        }
        _deadlineTimer?.Dispose();
        _channel.CallEnded(this);
        _headersTcs.TrySetResult(trailers);
        // A call that has its status sends nothing more: end the request side too.
        if (status.StatusCode == StatusCode.OK)
        {
            _requestContent?.Complete();
        }
        else
        {
            _requestContent?.Abort();
        }
        return true;
    }

    private RpcException Fail(Status status, Exception? inner = null)
    {
        Finish(status, []);
        return new RpcException(_statusTcs.Task.Result, _trailers ?? [], inner);
    }

    /// <summary>
    /// A response message this client refuses (over MaxReceiveMessageSize, a malformed frame) ends the
    /// call with that status, as gRPC clients do, and resets the HTTP/2 stream so the server stops.
    /// </summary>
    private RpcException FailAndReset(RpcException refused)
    {
        var failure = Fail(refused.Status, refused);
        try
        {
            _cts.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        return failure;
    }

    /// <summary>
    /// A write refused because the server ended the call, whose status has not been read yet: this
    /// write fails, but the call is not ended with <paramref name="status"/> when nothing can record the
    /// server's status now, so the status the server sent is what a later read finds (a client that writes from
    /// its read loop, as xDS clients ACK, must not lose it to its own write).
    /// </summary>
    private RpcException WriteFailed(Status status, Exception inner) =>
        StatusMayArrive ? Fail(status, inner) : new RpcException(status, [], inner);

    /// <summary>
    /// Whether the call has its status, waiting a little for the response headers or a read in progress
    /// to record it; at once when nothing can (the status then waits in the response, unread).
    /// </summary>
    private async Task<bool> HasStatusSoonAsync()
    {
        if (_statusTcs.Task.IsCompleted || !StatusMayArrive)
        {
            return _statusTcs.Task.IsCompleted;
        }
        try
        {
            await _statusTcs.Task.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private RpcException StatusException() => new(_statusTcs.Task.Result, _trailers ?? []);

    private void ThrowIfNotOk()
    {
        if (_statusTcs.Task.IsCompleted && _statusTcs.Task.Result.StatusCode != StatusCode.OK)
        {
            throw StatusException();
        }
    }

    private void ThrowIfEnded()
    {
        if (_statusTcs.Task.IsCompleted)
        {
            ThrowIfNotOk();
            throw new InvalidOperationException("Can't write the message because the call is complete.");
        }
    }

    private Status StatusFromException(Exception ex, string what)
    {
        if (_deadlineExceeded)
        {
            return new Status(StatusCode.DeadlineExceeded, "Deadline Exceeded");
        }
        if (_statusTcs.Task.IsCompleted)
        {
            return _statusTcs.Task.Result;
        }
        if (ex is RpcException rpc)
        {
            return rpc.Status;
        }
        if (ex is OperationCanceledException && _options.CancellationToken.IsCancellationRequested)
        {
            return new Status(StatusCode.Cancelled, "Call canceled by the client.");
        }
        for (Exception? e = ex; e is not null; e = e.InnerException)
        {
            if (e is HttpProtocolException protocol)
            {
                return Http2ErrorStatus.From(protocol, what);
            }
        }
        return new Status(StatusCode.Unavailable, $"{what}: {ex.GetType().Name}: {ex.Message}");
    }

    private static StatusCode MapHttpStatus(HttpStatusCode code) => (int)code switch
    {
        400 => StatusCode.Internal,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.Unimplemented,
        429 or 502 or 503 or 504 => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    private static Status? ReadStatus(HttpHeaders headers) =>
        MetadataEncoding.ReadStatus(
            HeaderValue(headers, GrpcProtocol.StatusHeader),
            HeaderValue(headers, GrpcProtocol.MessageHeader),
            HeaderValue(headers, GrpcProtocol.StatusDetailsHeader));

    private static string? HeaderValue(HttpHeaders headers, string name) =>
        headers.NonValidated.TryGetValues(name, out var values) ? values.ToString() : null;

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (!_statusTcs.Task.IsCompleted)
        {
            Cancel();
        }
        _deadlineTimer?.Dispose();
        _userCancellation.Dispose();
        _response?.Dispose();
    }
}
