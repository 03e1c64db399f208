namespace ControlPlane.Server.Discovery;

/// <summary>The "ControlPlane:Discovery" configuration section: push control and stream limits.</summary>
public sealed class DiscoveryOptions
{
    public const string Section = "ControlPlane:Discovery";

    /// <summary>
    /// Changes that arrive within this window of the previous change are merged into one push; the
    /// first change after a quiet window is applied at once (Istio's debounce: 100 ms). Zero pushes
    /// every change on its own.
    /// </summary>
    public TimeSpan DebounceWindow { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>A change waits at most this long behind a burst of later ones (Istio: 10 s).</summary>
    public TimeSpan MaxDebounceDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>When reading the stores fails, how long to wait before trying the same changes again.</summary>
    public TimeSpan RebuildRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A stream whose node has not taken its configuration for this long (a response write that does
    /// not complete, or queued changes held back by a response it never answers) is closed with
    /// UNAVAILABLE, so it can reconnect and resume, and stops holding server resources.
    /// </summary>
    public TimeSpan StuckStreamTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A stream closed as stuck keeps its last response in flight this long, so a node that reads again
    /// still gets it and the status that explains the close; then the HTTP/2 stream is reset.
    /// </summary>
    public TimeSpan StuckStreamDrainTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often streams are checked for being stuck.</summary>
    public TimeSpan StuckCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Delta responses are split so that each carries at most about this many bytes of resources (the
    /// rest follows once the node has answered). A state-of-the-world response cannot be split; it is
    /// bounded by the gRPC server's MaxSendMessageSize.
    /// </summary>
    public int MaxDeltaResponseBytes { get; set; } = 1 << 20;

    /// <summary>Most resource names one request may carry (the protos' limit).</summary>
    public int MaxResourceNamesPerRequest { get; set; } = 100_000;

    /// <summary>
    /// A node that reconnects holding configuration from a newer store position than this replica has
    /// loaded waits this long for the replica to catch up before it is refused (UNAVAILABLE,
    /// <c>replica_behind</c>), unless the replica then holds the store's newest change; a replica that
    /// cannot reach its store refuses such a node at once.
    /// </summary>
    public TimeSpan BehindWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Id this replica puts in every response's <c>control_plane_id</c>; default: machine name and process id.</summary>
    public string? ControlPlaneId { get; set; }

    /// <summary>Throws when a setting cannot work (checked when the services are added).</summary>
    public void Validate()
    {
        List<string> errors = [];
        if (DebounceWindow < TimeSpan.Zero)
        {
            errors.Add($"{nameof(DebounceWindow)} must not be negative");
        }
        if (MaxDebounceDelay < DebounceWindow)
        {
            errors.Add($"{nameof(MaxDebounceDelay)} must be at least {nameof(DebounceWindow)}");
        }
        if (BehindWait < TimeSpan.Zero)
        {
            errors.Add($"{nameof(BehindWait)} must not be negative");
        }
        if (RebuildRetryDelay <= TimeSpan.Zero || StuckStreamTimeout <= TimeSpan.Zero || StuckStreamDrainTimeout <= TimeSpan.Zero || StuckCheckInterval <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(RebuildRetryDelay)}, {nameof(StuckStreamTimeout)}, {nameof(StuckStreamDrainTimeout)} and {nameof(StuckCheckInterval)} must be positive");
        }
        if (MaxDeltaResponseBytes <= 0 || MaxResourceNamesPerRequest <= 0)
        {
            errors.Add($"{nameof(MaxDeltaResponseBytes)} and {nameof(MaxResourceNamesPerRequest)} must be positive");
        }
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"Invalid {Section} settings: " + string.Join("; ", errors));
        }
    }

    internal string ResolveControlPlaneId() =>
        string.IsNullOrWhiteSpace(ControlPlaneId) ? $"{Environment.MachineName}-{Environment.ProcessId}" : ControlPlaneId;
}
