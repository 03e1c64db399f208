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

    /// <summary>
    /// A stream that answered and stayed open at least this long (from its opening) was healthy: the
    /// next reconnect starts again from <see cref="ReconnectBaseDelay"/>. One that ends sooner, even
    /// after answering, keeps the delay growing, so a control plane that answers and then drops every
    /// stream is not reconnected to at once, over and over (gRPC resets its reconnect backoff only
    /// after a connection that lasted, not on any success). Default 30 s.
    /// </summary>
    public TimeSpan BackoffResetAfter { get; set; } = TimeSpan.FromSeconds(30);
}
