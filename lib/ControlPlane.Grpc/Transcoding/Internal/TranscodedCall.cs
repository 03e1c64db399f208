using ControlPlane.Grpc.Protocol;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Server.Internal;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// The call context of one REST call, handed to the same interceptors and handler as a gRPC call.
/// The request message is built from the URL and body when the handler reads it (so interceptors,
/// such as auth, run before input is judged); a unary response is kept until the pipeline ends, so
/// an interceptor can still turn it into an error and headers set late still go out. Metadata maps to
/// HTTP headers both ways: request headers become <see cref="RequestHeaders"/>, and response headers
/// and trailers become response headers.
/// </summary>
internal sealed class TranscodedCall<TRequest, TResponse> : ServerCallContext, IServerCallMessages<TRequest, TResponse>, ITranscodedCall, IDisposable
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>
{
    private readonly TranscodedMethodContext _method;
    private readonly HttpContext _http;
    private readonly string[] _pathValues;
    private readonly ReadOnlyMemory<byte> _body;
    private readonly bool _unexpectedBody;
    private readonly CancellationTokenSource? _deadlineCts;
    private readonly CancellationTokenSource _cts;
    private readonly JsonArrayStream? _stream;
    private Metadata? _requestHeaders;
    private Metadata? _responseHeaders;
    private Metadata? _responseTrailers;
    private int _trailersSentAsHeaders;
    private Dictionary<object, object?>? _userState;
    private bool _requestRead;
    private bool _completed;

    /// <param name="unexpectedBody">The method takes no body, and the request carries one that is not empty.</param>
    public TranscodedCall(TranscodedMethodContext method, HttpContext http, string[] pathValues, ReadOnlyMemory<byte> body, bool unexpectedBody)
    {
        _method = method;
        _http = http;
        _pathValues = pathValues;
        _body = body;
        _unexpectedBody = unexpectedBody;
        if (GrpcTimeout.TryParse(http.Request.Headers[GrpcProtocol.TimeoutHeader].ToString(), out var timeout) && timeout <= GrpcTimeout.Longest)
        {
            // A REST client may bound the call like a gRPC one; the handler sees it as the deadline.
            var clock = method.ServerOptions.TimeProvider;
            Deadline = clock.GetUtcNow().UtcDateTime + timeout;
            _deadlineCts = new CancellationTokenSource(timeout > TimeSpan.Zero ? timeout : TimeSpan.Zero, clock);
        }
        _cts = _deadlineCts is null
            ? CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted)
            : CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, _deadlineCts.Token);
        if (method.Binding.Method.IsServerStreaming)
        {
            _stream = new JsonArrayStream(http, method);
        }
    }

    public HttpRuleBinding Binding => _method.Binding;

    public override MethodDescriptor Method => _method.Binding.Method;

    public override string MethodPath => _method.MethodPath;

    public override string Peer => PeerAddress.Of(_http.Connection);

    public override DateTime Deadline { get; } = DateTime.MaxValue;

    public override CancellationToken CancellationToken => _cts.Token;

    public override Metadata RequestHeaders => _requestHeaders ??= ReadRequestHeaders();

    public override Metadata ResponseTrailers => _responseTrailers ??= [];

    public override string? RequestEncoding => null;

    /// <summary>Ignored: compressing REST responses is the HTTP pipeline's business (response compression middleware).</summary>
    public override string? ResponseCompression { get; set; }

    public override Status Status { get; set; } = Status.DefaultSuccess;

    public override HttpContext HttpContext => _http;

    public override IDictionary<object, object?> UserState => _userState ??= [];

    /// <summary>The unary response, once the handler has produced it.</summary>
    public TResponse? Response { get; private set; }

    public bool ResponseStarted => _stream?.Started == true;

    public bool DeadlineExceeded => _deadlineCts?.IsCancellationRequested == true && !ClientGone;

    public bool ClientGone => _http.RequestAborted.IsCancellationRequested;

    /// <summary>Response headers and trailers, all sent as HTTP response headers.</summary>
    public IEnumerable<Metadata.Entry> ResponseMetadata => (_responseHeaders ?? []).Concat(_responseTrailers ?? []);

    TRequest IAsyncStreamReader<TRequest>.Current => throw new NotSupportedException("REST calls have a single request message.");

    Task<bool> IAsyncStreamReader<TRequest>.MoveNext(CancellationToken cancellationToken) =>
        throw new NotSupportedException("REST calls have a single request message.");

    public ValueTask<TRequest> ReadSingleRequestAsync()
    {
        if (_requestRead)
        {
            throw new InvalidOperationException("The request message has already been read.");
        }
        _requestRead = true;
        try
        {
            var request = _method.RequestBuilder.Build(static () => new TRequest(), _body, _unexpectedBody, _pathValues, _http.Request.QueryString);
            return ValueTask.FromResult((TRequest)request);
        }
        catch (RpcException ex) when (_method.InvalidRequestReason is { } reason && ex.Status.Reason() == TranscodingErrors.InvalidRequestReason)
        {
            throw new RpcException(RpcErrors.WithReason(ex.Status, reason));
        }
    }

    public Task WriteAsync(TResponse message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        return WriteMessageAsync(message, flush: true, cancellationToken);
    }

    public async Task WriteMessageAsync(TResponse message, bool flush, CancellationToken cancellationToken = default)
    {
        if (_completed)
        {
            throw new InvalidOperationException("Can't write the message because the call is complete.");
        }
        if (_stream is null)
        {
            Response = message;
            return;
        }
        var started = _stream.Started;
        await _stream.WriteAsync(message, ResponseMetadata, cancellationToken.CanBeCanceled ? cancellationToken : _cts.Token);
        if (!started)
        {
            _trailersSentAsHeaders = _responseTrailers?.Count ?? 0;
        }
    }

    /// <summary>Headers go out with the response (REST has no separate header frame before the body); at most once.</summary>
    public override Task WriteResponseHeadersAsync(Metadata responseHeaders)
    {
        ArgumentNullException.ThrowIfNull(responseHeaders);
        if (_responseHeaders is not null || ResponseStarted || _completed)
        {
            throw new InvalidOperationException("Response headers have already been sent.");
        }
        _responseHeaders = responseHeaders;
        return Task.CompletedTask;
    }

    /// <summary>Ends a successful server-streaming response: closes the JSON array (an empty one when nothing was sent).</summary>
    public Task CompleteStreamAsync()
    {
        _completed = true;
        var late = _responseTrailers?.Skip(_stream!.Started ? _trailersSentAsHeaders : _responseTrailers.Count) ?? [];
        return _stream!.CompleteAsync(ResponseMetadata, late);
    }

    public void Dispose()
    {
        _completed = true;
        _stream?.Dispose();
        _cts.Dispose();
        _deadlineCts?.Dispose();
    }

    private Metadata ReadRequestHeaders()
    {
        var metadata = new Metadata();
        foreach (var header in _http.Request.Headers)
        {
            if (IsHopByHop(header.Key))
            {
                continue;
            }
            foreach (var value in header.Value)
            {
                // Skips pseudo-headers, grpc-*, content-type/-length, host, connection, te ...; lower-cases names.
                MetadataEncoding.AddReceived(metadata, header.Key, value);
            }
        }
        return metadata;
    }

    // RFC 9110 section 7.6.1: connection-specific fields are not forwarded, so they are not call metadata either.
    private static bool IsHopByHop(string name) =>
        name.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)
        || name.Equals("upgrade", StringComparison.OrdinalIgnoreCase)
        || name.Equals("proxy-connection", StringComparison.OrdinalIgnoreCase)
        || name.Equals("proxy-authorization", StringComparison.OrdinalIgnoreCase)
        || name.Equals("proxy-authenticate", StringComparison.OrdinalIgnoreCase);
}
