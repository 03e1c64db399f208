namespace ControlPlane.Server.Registry;

/// <summary>The "ControlPlane:Registry" configuration section: leases, expiry and self-preservation.</summary>
public sealed class RegistryOptions
{
    public const string Section = "ControlPlane:Registry";

    /// <summary>Lease length when a registration gives no <c>ttl_seconds</c>.</summary>
    public int DefaultTtlSeconds { get; set; } = 30;

    public int MinTtlSeconds { get; set; } = 1;

    public int MaxTtlSeconds { get; set; } = 3600;

    /// <summary>How long an expired instance stays listed (status <c>expired</c>) before it is removed.</summary>
    public TimeSpan ExpiredRetention { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Longest time between two expiry passes. A pass runs at the earliest deadline it knows of;
    /// replicas sharing a store learn of deadlines set through another replica only from a pass, so
    /// each one looks at least this often and the fleet's instances expire even when the replica
    /// that registered them is gone.
    /// </summary>
    public TimeSpan MaxPassInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Most instance ids one heartbeat-stream message may carry.</summary>
    public int MaxInstancesPerBeat { get; set; } = 1000;

    /// <summary>Largest page a listing returns (and the size of an unpaged one).</summary>
    public int MaxPageSize { get; set; } = 10_000;

    /// <summary>Most metadata entries per instance, and their largest encoded size.</summary>
    public int MaxMetadataEntries { get; set; } = 64;

    public int MaxMetadataBytes { get; set; } = 8192;

    public SelfPreservationOptions SelfPreservation { get; set; } = new();
}

/// <summary>
/// Eureka's self-preservation: when an abnormal share of the fleet would expire within one window,
/// the fault is more likely the control plane's network than the fleet, so expiry stops (and
/// alarms) until heartbeats recover.
/// </summary>
public sealed class SelfPreservationOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Share of instances (0..1) that may expire within <see cref="Window"/> before expiry stops. Eureka: 0.15.</summary>
    public double Threshold { get; set; } = 0.15;

    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Below this many instances every expiry proceeds: in a tiny fleet one instance is already a large share.</summary>
    public int MinInstances { get; set; } = 10;

    /// <summary>While engaged, how often to look again whether heartbeats have recovered.</summary>
    public TimeSpan RecheckInterval { get; set; } = TimeSpan.FromSeconds(1);
}
