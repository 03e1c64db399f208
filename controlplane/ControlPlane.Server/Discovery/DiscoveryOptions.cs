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
    /// Delta responses are split so that each carries at most this many bytes of resources (the rest
    /// follows once the node has answered); a resource larger than this goes alone. A
    /// state-of-the-world response cannot be split; it is bounded by <see cref="MaxResponseBytes"/>.
    /// </summary>
    public int MaxDeltaResponseBytes { get; set; } = 1 << 20;

    /// <summary>
    /// Largest discovery response (the discovery service's gRPC send limit). A state-of-the-world
    /// response over it, or a delta resource that cannot fit in one, is not sent: the node keeps what
    /// it holds of that type (or resource), other types and resources keep flowing, and the control
    /// plane logs it (4020). Nodes must accept messages this large (the SDK does). Default 64 MiB.
    /// </summary>
    public int MaxResponseBytes { get; set; } = 64 << 20;

    /// <summary>
    /// Largest request a node may send on a discovery stream (its gRPC receive limit): room for the
    /// protos' 100,000 names per request, or a delta resume listing 100,000 held versions. Default 16 MiB.
    /// </summary>
    public int MaxRequestBytes { get; set; } = 16 << 20;

    /// <summary>Most resource names one request may carry (the protos' limit), and one delta stream may hold subscribed by name per type.</summary>
    public int MaxResourceNamesPerRequest { get; set; } = 100_000;

    /// <summary>
    /// A node that reconnects holding configuration from a newer store position than this replica has
    /// loaded waits this long for the replica to catch up before it is refused (UNAVAILABLE,
    /// <c>replica_behind</c>), unless the replica then holds the store's newest change; a replica that
    /// cannot reach its store refuses such a node at once.
    /// </summary>
    public TimeSpan BehindWait { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// On the embedded store, which keeps nothing across restarts: for this long after the control
    /// plane starts, a node that reconnects holding configuration from an earlier start (its store
    /// position names another epoch) is refused (UNAVAILABLE, <c>store_warming</c>) and keeps serving
    /// what it holds, instead of being sent the removal of every instance that has not registered
    /// again yet. Nodes without configuration are served at once. 0 turns the hold off.
    /// </summary>
    public TimeSpan RestartHold { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// When a full reload of the store (after it restarted, started afresh, or its change log no longer
    /// reached back) would remove more than <see cref="MassRemovalThreshold"/> of the endpoints nodes are
    /// sent, the endpoints it did not find are still sent for this long (re-registrations and other
    /// changes are applied meanwhile), so that a store that came back empty does not leave every node
    /// without endpoints until agents register again. 0 turns the guard off.
    /// </summary>
    public TimeSpan MassRemovalHold { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Share of the endpoints (more than this, 0-1) whose removal by one full reload is held.</summary>
    public double MassRemovalThreshold { get; set; } = 0.5;

    /// <summary>Fewest endpoints held for the guard to apply (a small fleet's removals are sent as they come).</summary>
    public int MassRemovalMinEndpoints { get; set; } = 10;

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
        if (BehindWait < TimeSpan.Zero || RestartHold < TimeSpan.Zero)
        {
            errors.Add($"{nameof(BehindWait)} and {nameof(RestartHold)} must not be negative");
        }
        if (RebuildRetryDelay <= TimeSpan.Zero || StuckStreamTimeout <= TimeSpan.Zero || StuckStreamDrainTimeout <= TimeSpan.Zero || StuckCheckInterval <= TimeSpan.Zero)
        {
            errors.Add($"{nameof(RebuildRetryDelay)}, {nameof(StuckStreamTimeout)}, {nameof(StuckStreamDrainTimeout)} and {nameof(StuckCheckInterval)} must be positive");
        }
        if (MassRemovalHold < TimeSpan.Zero || !(MassRemovalThreshold is >= 0 and < 1) || MassRemovalMinEndpoints < 1)
        {
            errors.Add($"{nameof(MassRemovalHold)} must not be negative, {nameof(MassRemovalThreshold)} must be at least 0 and below 1, {nameof(MassRemovalMinEndpoints)} at least 1");
        }
        if (MaxDeltaResponseBytes <= 0 || MaxResourceNamesPerRequest <= 0 || MaxRequestBytes <= 0)
        {
            errors.Add($"{nameof(MaxDeltaResponseBytes)}, {nameof(MaxResourceNamesPerRequest)} and {nameof(MaxRequestBytes)} must be positive");
        }
        if (MaxResponseBytes < MaxDeltaResponseBytes + ResponseOverhead)
        {
            errors.Add($"{nameof(MaxResponseBytes)} must be at least {nameof(MaxDeltaResponseBytes)} + {ResponseOverhead} bytes");
        }
        if (errors.Count > 0)
        {
            throw new InvalidOperationException($"Invalid {Section} settings: " + string.Join("; ", errors));
        }
    }

    /// <summary>Room a response needs beside its resources (type URL, nonce, versions, removed names' framing).</summary>
    internal const int ResponseOverhead = 64 * 1024;

    internal string ResolveControlPlaneId() =>
        string.IsNullOrWhiteSpace(ControlPlaneId) ? $"{Environment.MachineName}-{Environment.ProcessId}" : ControlPlaneId;
}
