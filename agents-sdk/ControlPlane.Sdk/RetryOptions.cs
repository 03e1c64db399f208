namespace ControlPlane.Sdk;

/// <summary>
/// Retries of unary calls. Only methods whose proto declares <c>idempotency_level</c>
/// <c>IDEMPOTENT</c> or <c>NO_SIDE_EFFECTS</c> are retried, and only after UNAVAILABLE (the call did
/// not reach a serving replica, or the replica went away): repeating any other call could apply it
/// twice. Attempt n waits a uniform random delay in [0, min(<see cref="MaxBackoff"/>,
/// <see cref="InitialBackoff"/> · 2^(n-1))] (exponential backoff with full jitter), so clients that
/// failed together do not come back together.
/// </summary>
public sealed class RetryOptions
{
    /// <summary>Attempts in all, the first included (the reference's AGENT_RETRY + 1). Default 3; 1 disables retries.</summary>
    public int MaxAttempts { get; set; } = 3;

    /// <summary>Bound of the first retry's delay. Default 100 ms.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Largest delay bound. Default 5 s.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);
}
