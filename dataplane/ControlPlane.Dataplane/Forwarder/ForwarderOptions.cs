namespace ControlPlane.Dataplane.Forwarder;

/// <summary>How the node talks to upstream instances (configuration section <c>Dataplane:Forwarder</c>).</summary>
public sealed class ForwarderOptions
{
    public const string Section = "Dataplane:Forwarder";

    /// <summary>Longest wait for a TCP connection to an instance; past it the instance counts as unreachable (502, retried when safe). Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan DefaultActivityTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Longest the instance may keep an exchange waiting: for a connection, to take the next piece
    /// of the request body, for its response headers once the request is sent, for the next bytes of
    /// its response body. The clock starts over at every step forward and stands still while the
    /// node waits on the client (a slow upload or a slow reader is Kestrel's to judge: 408 below its
    /// minimum data rate), so it measures the instance's silence only, as nginx's
    /// <c>proxy_read_timeout</c> and YARP's <c>ActivityTimeout</c> do. Past it before the response
    /// headers: 504 <c>backend_timeout</c>; after: the client's response is aborted. Either counts
    /// against the instance. A long download or stream is never cut while bytes flow. Not applied to
    /// gRPC calls: their deadline (<c>grpc-timeout</c>) governs, and watch streams may stay quiet
    /// long. Null (not set): the former <see cref="RequestTimeout"/> when that is set, else 60 s
    /// (<see cref="EffectiveActivityTimeout"/>).
    /// </summary>
    /// <remarks>
    /// Nullable, as YARP's <c>ForwarderRequestConfig.ActivityTimeout</c>, so that "set" can be told from
    /// "not set": the configuration binder writes back the value of every non-primitive struct property
    /// it visits, defaults included, so with a plain TimeSpan "not set" and "set to 60 s" looked the
    /// same. It writes nothing back for null.
    /// </remarks>
    public TimeSpan? ActivityTimeout { get; set; }

    /// <summary>
    /// The former name of <see cref="ActivityTimeout"/> (it counted from the request's start to the
    /// response headers, the client's upload included), still read so existing settings keep their
    /// value while <see cref="ActivityTimeout"/> is not set.
    /// </summary>
    [Obsolete("Renamed ActivityTimeout (an idle timeout on the instance).")]
    public TimeSpan? RequestTimeout { get; set; }

    /// <summary>The activity timeout in force: <see cref="ActivityTimeout"/> when set (whatever its value), else the former <see cref="RequestTimeout"/>, else 60 s.</summary>
#pragma warning disable CS0618 // the former name is read here, and only here
    internal TimeSpan EffectiveActivityTimeout => ActivityTimeout ?? RequestTimeout ?? DefaultActivityTimeout;
#pragma warning restore CS0618

    /// <summary>How long an idle pooled connection to an instance is kept. Default 60 s.</summary>
    public TimeSpan PooledConnectionIdleTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a pooled connection is used at most (then replaced, so DNS changes are seen); infinite by default.</summary>
    public TimeSpan PooledConnectionLifetime { get; set; } = Timeout.InfiniteTimeSpan;

    /// <summary>Connections per instance (HTTP/1.1; HTTP/2 multiplexes and opens more when one is full). Default unlimited.</summary>
    public int MaxConnectionsPerServer { get; set; } = int.MaxValue;

    /// <summary>
    /// HTTP/1.1 instances are spoken to by the node's own HTTP/1.1 client (pooled connections,
    /// request and response written and parsed straight on the socket's pipes), not HttpClient.
    /// HTTP/2 instances and gRPC calls always go through HttpClient. Default true.
    /// </summary>
    public bool NativeHttp1 { get; set; } = true;

    /// <summary>Largest response head (status line and fields) or trailer section accepted from an HTTP/1.1 instance; past it, 502. Default 64 KiB.</summary>
    public int MaxResponseHeadersBytes { get; set; } = 64 * 1024;

    /// <summary>Most header (or trailer) fields accepted in one HTTP/1.1 response; past it, 502. Default 256.</summary>
    public int MaxResponseHeaderCount { get; set; } = 256;

    /// <summary>
    /// Retries, each to another endpoint: after a connection failure for idempotent requests
    /// without a body (GET, HEAD, OPTIONS, TRACE, PUT, DELETE), and after an HTTP/2 stream refused
    /// (REFUSED_STREAM) for any request none of whose body was taken from the client yet: the
    /// request was not processed, so a retry cannot do anything twice. Default 2; 0 disables retries.
    /// </summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>Retry budget: retries in flight may be at most this percentage of the image's requests in flight. Default 20.</summary>
    public int RetryBudgetPercent { get; set; } = 20;

    /// <summary>Retry budget floor: this many retries may always be in flight per image. Default 3.</summary>
    public int MinRetryConcurrency { get; set; } = 3;
}
