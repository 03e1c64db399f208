using ControlPlane.Api.V1;

namespace ControlPlane.Sdk.Discovery;

/// <summary>Settings of a <see cref="DeltaDiscoveryStream"/>.</summary>
public sealed class DeltaDiscoveryOptions
{
    /// <summary>
    /// Identity sent on the first request of every stream (<c>node.id</c> is required, 1-128
    /// characters, stable across restarts); the fleet view lists the stream under it.
    /// </summary>
    public Node Node { get; set; } = new();

    /// <summary>First reconnect delay bound (full jitter: the delay is uniform in [0, bound]). Default 250 ms.</summary>
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Largest reconnect delay bound. Default 10 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a new stream may go without its first response (connecting included) before it is
    /// ended and its address counts as unavailable, so the next stream goes to the next address. A
    /// control plane that accepts the stream and then hangs (a frozen process still answers pings at
    /// the socket) would otherwise hold the client until keepalive ends the connection. A control
    /// plane answers the first request of each type at once (discovery.proto); a replica behind the
    /// client's store position waits up to its BehindWait (5 s) before refusing. Envoy's
    /// <c>initial_fetch_timeout</c> (15 s there) plays this part for a whole xDS source. Default 10 s;
    /// <see cref="Timeout.InfiniteTimeSpan"/> waits for ever.
    /// </summary>
    public TimeSpan FirstResponseTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
