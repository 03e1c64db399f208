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
}
