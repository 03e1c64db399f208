using ControlPlane.Grpc.Client;
using Google.Protobuf;

namespace ControlPlane.Sdk;

/// <summary>
/// Calls any control-plane method by its descriptor, with everything the typed clients get: the
/// current address (and failover), tokens where the method's options ask for them, a deadline,
/// retries of idempotent methods, <c>x-request-id</c> and <c>traceparent</c>. The typed clients are
/// built on it; tools that work from descriptors (a CLI, an MCP server) can call it directly.
/// </summary>
public interface IControlPlaneInvoker
{
    /// <summary>Every configured address, in failover order.</summary>
    IReadOnlyList<Uri> Addresses { get; }

    /// <summary>The address the next call goes to.</summary>
    Uri CurrentAddress { get; }

    /// <summary>
    /// A unary call. Throws <see cref="ControlPlaneException"/> when it ends with a non-OK status
    /// (after the retries it was allowed), or <see cref="OperationCanceledException"/> when
    /// <paramref name="cancellationToken"/> ends it.
    /// </summary>
    Task<TResponse> UnaryAsync<TRequest, TResponse>(Method<TRequest, TResponse> method, TRequest request, CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new();

    /// <summary>
    /// Opens a bidirectional stream on the current address (no deadline: streams are long-lived;
    /// dispose or cancel to end it). Streams are not retried here: their owner reconnects, after
    /// calling <see cref="ReportUnavailable"/> for an address that failed.
    /// </summary>
    ControlPlaneStream<TRequest, TResponse> OpenDuplexStream<TRequest, TResponse>(Method<TRequest, TResponse> method, CancellationToken cancellationToken = default)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new();

    /// <summary>Moves later calls to the next address, unless another failure already moved them off <paramref name="address"/>.</summary>
    void ReportUnavailable(Uri address);
}

/// <summary>An open bidirectional call and the address it went to.</summary>
public sealed class ControlPlaneStream<TRequest, TResponse> : IDisposable
    where TRequest : class, IMessage<TRequest>, new()
    where TResponse : class, IMessage<TResponse>, new()
{
    private readonly Action<Uri> _reportUnavailable;

    internal ControlPlaneStream(Uri address, AsyncDuplexStreamingCall<TRequest, TResponse> call, Action<Uri> reportUnavailable)
    {
        Address = address;
        Call = call;
        _reportUnavailable = reportUnavailable;
    }

    /// <summary>The control plane the stream went to.</summary>
    public Uri Address { get; }

    /// <summary>The call: write <c>RequestStream</c>, read <c>ResponseStream</c>.</summary>
    public AsyncDuplexStreamingCall<TRequest, TResponse> Call { get; }

    /// <summary>The stream failed UNAVAILABLE: later calls and streams go to the next address.</summary>
    public void ReportUnavailable() => _reportUnavailable(Address);

    /// <summary>Cancels the call if it is still open.</summary>
    public void Dispose() => Call.Dispose();
}
