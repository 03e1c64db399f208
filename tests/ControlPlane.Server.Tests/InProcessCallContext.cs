using ControlPlane.Grpc;
using ControlPlane.Grpc.Server;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace ControlPlane.Server.Tests;

/// <summary>
/// A call context for calling a handler or an interceptor in-process: its own request headers
/// (metadata and the raw HTTP ones), cancelled through <paramref name="cts"/> as a client reset would.
/// </summary>
internal sealed class InProcessCallContext : ServerCallContext
{
    private readonly CancellationTokenSource _cts;
    private readonly DefaultHttpContext _http = new();

    public InProcessCallContext(MethodDescriptor method, CancellationTokenSource? cts = null)
    {
        Method = method;
        _cts = cts ?? new CancellationTokenSource();
        _http.Features.Set<IHttpRequestLifetimeFeature>(new Lifetime(_cts));
    }

    public override MethodDescriptor Method { get; }

    public override string MethodPath => "/" + Method.FullName;

    public override string Peer => "in-memory";

    public override DateTime Deadline => DateTime.MaxValue;

    public override CancellationToken CancellationToken => _cts.Token;

    public override Metadata RequestHeaders { get; } = [];

    public override Metadata ResponseTrailers { get; } = [];

    public override string? RequestEncoding => null;

    public override string? ResponseCompression { get; set; }

    public override Status Status { get; set; } = Status.DefaultSuccess;

    public override HttpContext HttpContext => _http;

    public override IDictionary<object, object?> UserState { get; } = new Dictionary<object, object?>();

    public override Task WriteResponseHeadersAsync(Metadata responseHeaders) => Task.CompletedTask;

    private sealed class Lifetime(CancellationTokenSource cts) : IHttpRequestLifetimeFeature
    {
        public CancellationToken RequestAborted { get; set; } = cts.Token;

        public void Abort() => cts.Cancel();
    }
}
