using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Http;

namespace ControlPlane.Grpc.Server;

/// <summary>What a handler (and an interceptor) knows about the call it serves.</summary>
public abstract class ServerCallContext
{
    /// <summary>The protobuf method being called.</summary>
    public abstract MethodDescriptor Method { get; }

    /// <summary>The HTTP/2 path, "/package.Service/Method".</summary>
    public abstract string MethodPath { get; }

    /// <summary>Peer address, e.g. "ipv4:127.0.0.1:50432".</summary>
    public abstract string Peer { get; }

    /// <summary>When the client's <c>grpc-timeout</c> runs out (UTC); <see cref="DateTime.MaxValue"/> without one.</summary>
    public abstract DateTime Deadline { get; }

    /// <summary>Cancelled when the deadline passes, the client cancels, or the connection is lost.</summary>
    public abstract CancellationToken CancellationToken { get; }

    /// <summary>Custom metadata the client sent (protocol headers excluded).</summary>
    public abstract Metadata RequestHeaders { get; }

    /// <summary>Custom metadata sent with the status when the call ends.</summary>
    public abstract Metadata ResponseTrailers { get; }

    /// <summary>The <c>grpc-encoding</c> of the request messages, or null for identity.</summary>
    public abstract string? RequestEncoding { get; }

    /// <summary>
    /// Compress response messages with this encoding ("gzip"), when the client accepts it;
    /// set before the first message is written. Null leaves the server's default.
    /// </summary>
    public abstract string? ResponseCompression { get; set; }

    /// <summary>The status the call ends with when the handler returns normally (OK unless set).</summary>
    public abstract Status Status { get; set; }

    /// <summary>The underlying HTTP exchange, for what the gRPC surface does not cover (TLS, connection info).</summary>
    public abstract HttpContext HttpContext { get; }

    /// <summary>Per-call state shared between interceptors and the handler.</summary>
    public abstract IDictionary<object, object?> UserState { get; }

    /// <summary>Sends the response headers now, with this custom metadata; at most once, before any message.</summary>
    public abstract Task WriteResponseHeadersAsync(Metadata responseHeaders);
}
