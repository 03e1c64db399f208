namespace ControlPlane.Dataplane.Health;

/// <summary>
/// Passive health ("outlier detection" in Envoy's words), configuration section
/// <c>Dataplane:PassiveHealth</c>. An endpoint that fails <see cref="ConsecutiveFailures"/> times in
/// a row (connection refused or timed out, response timeout, or a 5xx answer) is ejected: the
/// balancer skips it for <see cref="BaseEjectionTime"/> times the number of times it has been
/// ejected, at most <see cref="MaxEjectionTime"/>. At most <see cref="MaxEjectionPercent"/> of an
/// image's endpoints are ejected at once (at least one, unless 0), and the balancer's panic
/// threshold uses every endpoint when too few remain.
/// </summary>
public sealed class PassiveHealthOptions
{
    public const string Section = "Dataplane:PassiveHealth";

    public bool Enabled { get; set; } = true;

    /// <summary>Failures in a row that eject an endpoint. Default 5 (Envoy's consecutive_5xx).</summary>
    public int ConsecutiveFailures { get; set; } = 5;

    /// <summary>The first ejection's length; the n-th in a row lasts n times as long. Default 30 s.</summary>
    public TimeSpan BaseEjectionTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest ejection; also how long an endpoint must stay healthy before its ejection count resets. Default 5 min.</summary>
    public TimeSpan MaxEjectionTime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Most endpoints of an image ejected at once, in percent (rounded down, but at least one). 0 disables ejection. Default 50.</summary>
    public int MaxEjectionPercent { get; set; } = 50;
}
