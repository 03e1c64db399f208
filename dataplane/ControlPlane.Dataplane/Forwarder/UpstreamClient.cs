using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Options;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// The one <see cref="HttpMessageInvoker"/> every upstream request goes through: a
/// SocketsHttpHandler whose connection pools are shared by all requests and images. It behaves
/// as a proxy's client must: no cookies, redirects, decompression or system proxy; the response
/// goes back to the client exactly as the instance sent it.
/// </summary>
internal sealed class UpstreamClient : IDisposable
{
    public UpstreamClient(IOptions<ForwarderOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            ConnectTimeout = o.ConnectTimeout,
            ConnectCallback = UpstreamConnector.ConnectAsync,
            PooledConnectionIdleTimeout = o.PooledConnectionIdleTimeout,
            PooledConnectionLifetime = o.PooledConnectionLifetime,
            MaxConnectionsPerServer = o.MaxConnectionsPerServer,
            EnableMultipleHttp2Connections = true,
            ActivityHeadersPropagator = new ProxyActivityPropagator(DistributedContextPropagator.Current),
            RequestHeaderEncodingSelector = static (_, _) => HeaderEncodings.Request,
            ResponseHeaderEncodingSelector = static (_, _) => HeaderEncodings.Response,
        };
        Invoker = new HttpMessageInvoker(handler, disposeHandler: true);
    }

    public HttpMessageInvoker Invoker { get; }

    public void Dispose() => Invoker.Dispose();
}
