using System.Net.Http;
using ControlPlane.Grpc.Client.Internal;
using Google.Protobuf;

namespace ControlPlane.Grpc.Client;

/// <summary>
/// A client connection to one gRPC server address over HTTP/2: cleartext with prior knowledge
/// (http://) or TLS with ALPN (https://). Thread-safe and meant to be shared: it pools HTTP/2
/// connections, opens more when one is full, and keeps them alive with PING frames.
/// </summary>
public sealed class GrpcChannel : IDisposable
{
    internal static readonly string UserAgent = "controlplane-grpc-dotnet/" + typeof(GrpcChannel).Assembly.GetName().Version?.ToString(3);

    private readonly HttpMessageInvoker _invoker;
    private readonly bool _disposeInvoker;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<IDisposable, byte> _activeCalls = new();
    private volatile bool _disposed;

    private GrpcChannel(Uri address, GrpcChannelOptions options, HttpMessageInvoker invoker, bool disposeInvoker)
    {
        Address = address;
        Options = options;
        _invoker = invoker;
        _disposeInvoker = disposeInvoker;
    }

    public Uri Address { get; }

    public GrpcChannelOptions Options { get; }

    public static GrpcChannel ForAddress(string address, GrpcChannelOptions? options = null) => ForAddress(new Uri(address), options);

    public static GrpcChannel ForAddress(Uri address, GrpcChannelOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps)
        {
            throw new ArgumentException($"Address '{address}' must be http:// (h2c) or https:// (TLS).", nameof(address));
        }
        options ??= new GrpcChannelOptions();
        if (options.HttpHandler is { } handler)
        {
            return new GrpcChannel(address, options, new HttpMessageInvoker(handler, options.DisposeHttpHandler), disposeInvoker: true);
        }
        return new GrpcChannel(address, options, new HttpMessageInvoker(CreateHandler(options), disposeHandler: true), disposeInvoker: true);
    }

    /// <summary>The SocketsHttpHandler a channel uses by default, configured from <paramref name="options"/>.</summary>
    public static SocketsHttpHandler CreateHandler(GrpcChannelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = options.EnableMultipleHttp2Connections,
            KeepAlivePingDelay = options.KeepAlivePingDelay,
            KeepAlivePingTimeout = options.KeepAlivePingTimeout,
            KeepAlivePingPolicy = options.KeepAliveWithoutCalls ? HttpKeepAlivePingPolicy.Always : HttpKeepAlivePingPolicy.WithActiveRequests,
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            ConnectTimeout = options.ConnectTimeout,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
        };
        if (options.SslOptions is { } ssl)
        {
            handler.SslOptions = ssl;
        }
        return handler;
    }

    public AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(request);
        var call = Start(method, MethodType.Unary, options, request);
        return new AsyncUnaryCall<TResponse>(call.GetResponseAsync(), new CallState<TRequest, TResponse>(call), call);
    }

    public AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CallOptions options = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(request);
        var call = Start(method, MethodType.ServerStreaming, options, request);
        return new AsyncServerStreamingCall<TResponse>(call, new CallState<TRequest, TResponse>(call), call);
    }

    public AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var call = Start(method, MethodType.ClientStreaming, options, null);
        return new AsyncClientStreamingCall<TRequest, TResponse>(call, call.GetResponseAsync(), new CallState<TRequest, TResponse>(call), call);
    }

    public AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, CallOptions options = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        var call = Start(method, MethodType.DuplexStreaming, options, null);
        return new AsyncDuplexStreamingCall<TRequest, TResponse>(call, call, new CallState<TRequest, TResponse>(call), call);
    }

    internal Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _invoker is HttpClient client
            ? client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken)
            : _invoker.SendAsync(request, cancellationToken);

    private GrpcCall<TRequest, TResponse> Start<TRequest, TResponse>(Method<TRequest, TResponse> method, MethodType expected, CallOptions options, TRequest? request)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        ArgumentNullException.ThrowIfNull(method);
        if (method.Type != expected)
        {
            throw new ArgumentException($"'{method.FullName}' is a {method.Type} method, not {expected}.", nameof(method));
        }
        ObjectDisposedException.ThrowIf(_disposed, this);
        var call = new GrpcCall<TRequest, TResponse>(this, method, options);
        call.Start(request);
        return call;
    }

    /// <summary>Calls started on this channel that have not ended yet.</summary>
    public int ActiveCallCount => _activeCalls.Count;

    internal void CallStarted(IDisposable call) => _activeCalls.TryAdd(call, 0);

    internal void CallEnded(IDisposable call) => _activeCalls.TryRemove(call, out _);

    /// <summary>Cancels every active call (they end with CANCELLED), then releases the connections.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        foreach (var call in _activeCalls.Keys)
        {
            call.Dispose();
        }
        if (_disposeInvoker)
        {
            _invoker.Dispose();
        }
    }

    /// <summary>Wraps an invoker owned elsewhere (e.g. by IHttpClientFactory); the channel does not dispose it.</summary>
    internal static GrpcChannel ForInvoker(Uri address, GrpcChannelOptions options, HttpMessageInvoker invoker) =>
        new(address, options, invoker, disposeInvoker: false);

    private sealed class CallState<TRequest, TResponse>(GrpcCall<TRequest, TResponse> call) : ICallState
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new()
    {
        public Task<Metadata> ResponseHeadersAsync => call.ResponseHeadersAsync;

        public Status GetStatus() => call.GetStatus();

        public Metadata GetTrailers() => call.GetTrailers();
    }
}
