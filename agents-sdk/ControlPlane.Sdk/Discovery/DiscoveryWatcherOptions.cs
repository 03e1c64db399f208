namespace ControlPlane.Sdk.Discovery;

/// <summary>Settings of a <see cref="DiscoveryWatcher"/>.</summary>
public sealed class DiscoveryWatcherOptions
{
    /// <summary>
    /// The watcher's node id in the fleet view (1-128 characters, stable across restarts so a
    /// reconnect is recognised). Default "{machine}-sdk-{process id}".
    /// </summary>
    public string NodeId { get; set; } = $"{Environment.MachineName}-sdk-{Environment.ProcessId}";

    /// <summary>Zone reported with the node identity; optional.</summary>
    public string? Zone { get; set; }

    /// <summary>Region reported with the node identity; optional.</summary>
    public string? Region { get; set; }

    /// <summary>Images to watch; empty (default) watches every image.</summary>
    public IList<string> Images { get; } = [];

    /// <summary>Also watch the images' routing policies. Default true.</summary>
    public bool WatchRoutingPolicies { get; set; } = true;

    /// <summary>
    /// Extra checks of the snapshot a response would produce (e.g. "every policy's algorithm is one
    /// my balancer knows"). Problems reject the response (a NACK naming them); the watcher keeps the
    /// snapshot it had. Null accepts whatever passes the built-in checks.
    /// </summary>
    public Func<DiscoverySnapshot, IReadOnlyList<string>>? Validate { get; set; }

    /// <summary>First reconnect delay bound. Default 250 ms.</summary>
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Largest reconnect delay bound. Default 10 s.</summary>
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A stream silent this long after opening is given up on and the next address tried (<see cref="DeltaDiscoveryOptions.FirstResponseTimeout"/>). Default 10 s.</summary>
    public TimeSpan FirstResponseTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Only a stream that lasted this long resets the reconnect delay (<see cref="DeltaDiscoveryOptions.BackoffResetAfter"/>). Default 30 s.</summary>
    public TimeSpan BackoffResetAfter { get; set; } = TimeSpan.FromSeconds(30);
}
