using System.Net;

namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// No connection to an instance could be made (refused, unreachable, or not within the connect
/// timeout). The request was never sent, so retrying it elsewhere cannot do anything twice.
/// Thrown by <see cref="UpstreamConnector"/>; the handler wraps it in an <see cref="HttpRequestException"/>.
/// </summary>
internal sealed class UpstreamConnectException(DnsEndPoint endpoint, bool timedOut, Exception? inner)
    : IOException(timedOut ? $"No connection to {endpoint.Host}:{endpoint.Port} within the connect timeout." : $"Could not connect to {endpoint.Host}:{endpoint.Port}: {inner?.Message}", inner)
{
    public bool TimedOut { get; } = timedOut;

    /// <summary>The connect failure inside <paramref name="exception"/>'s chain, if any.</summary>
    public static UpstreamConnectException? Find(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is UpstreamConnectException found)
            {
                return found;
            }
        }
        return null;
    }
}
