namespace ControlPlane.LoadBalancing;

/// <summary>How balancers are built. Immutable; <see cref="Default"/> suits the dataplane.</summary>
public sealed record BalancerOptions
{
    public static BalancerOptions Default { get; } = new();

    /// <summary>
    /// Seeds the balancer's own lock-free random sequence (least_conn's two choices, weighted picks
    /// during ejections, the rotation start). Read once, at build. Null: <see cref="System.Random.Shared"/>.
    /// Pass a seeded instance for reproducible picks.
    /// </summary>
    public Random? Random { get; init; }

    /// <summary>
    /// Start each rotation at a random position, so that many nodes receiving the same config at the
    /// same moment do not all send their first request to the same endpoint. False starts at the first
    /// endpoint (reproducible previews and tests).
    /// </summary>
    public bool RandomizeStart { get; init; } = true;

    /// <summary>
    /// When fewer than this share of the usable endpoints would remain after passive-health
    /// ejections, ejections are ignored and all are used (Envoy's panic threshold; 0 disables it).
    /// </summary>
    public int PanicThresholdPercent { get; init; } = 50;

    /// <summary>consistent_hash points per endpoint on the ring (fewer only when the ring would exceed <see cref="MaxRingSize"/>).</summary>
    public int VirtualNodesPerEndpoint { get; init; } = 160;

    /// <summary>Largest consistent_hash ring (points); bounds memory for very large endpoint sets.</summary>
    public int MaxRingSize { get; init; } = 1 << 18;

    /// <summary>
    /// Longest precomputed smooth-WRR cycle (sum of the weights after dividing by their GCD). Longer
    /// cycles run nginx's algorithm under a lock instead; both give the same sequence.
    /// </summary>
    public int MaxScheduleLength { get; init; } = 16_384;
}
