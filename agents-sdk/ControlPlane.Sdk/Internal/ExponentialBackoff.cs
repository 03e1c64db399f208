namespace ControlPlane.Sdk.Internal;

/// <summary>
/// Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
/// attempt n waits a uniform delay in [0, min(max, base · 2^n)]. <see cref="Reset"/> after a success.
/// Not thread-safe: each retry loop or stream owns one.
/// </summary>
internal sealed class ExponentialBackoff(TimeSpan baseDelay, TimeSpan maxDelay, Random random)
{
    private int _attempt;

    /// <summary>The bound of the next delay (before jitter).</summary>
    public TimeSpan NextBound => TimeSpan.FromTicks((long)Math.Min(maxDelay.Ticks, baseDelay.Ticks * Math.Pow(2, Math.Min(_attempt, 30))));

    public TimeSpan Next()
    {
        var bound = NextBound;
        _attempt++;
        return TimeSpan.FromTicks((long)(random.NextDouble() * bound.Ticks));
    }

    public void Reset() => _attempt = 0;
}
