using System.Net.Sockets;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// The handler's connect step, so a failed connect is told apart from any later failure (only the
/// former is safe to retry elsewhere) without parsing exception messages. Nagle is off: proxied
/// requests and gRPC messages are small and latency-bound.
/// </summary>
internal static class UpstreamConnector
{
    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            // The token fires at ConnectTimeout (or when the handler is disposed), not when one request is cancelled.
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new UpstreamConnectException(context.DnsEndPoint, timedOut: true, ex);
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            throw new UpstreamConnectException(context.DnsEndPoint, timedOut: false, ex);
        }
    }
}
