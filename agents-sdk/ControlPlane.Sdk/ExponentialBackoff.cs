namespace ControlPlane.Sdk;

/// <summary>
/// Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter"):
/// attempt n waits a uniform delay in [0, min(max, base · 2^n)]. <see cref="Reset"/> after a success.
/// Not thread-safe: each retry loop or stream owns one. The SDK's retries, registrar and discovery stream use it,
/// and so do agents and the dataplane's load reporter: one rule for every reconnect.
/// </summary>
public sealed class ExponentialBackoff(TimeSpan baseDelay, TimeSpan maxDelay, Random random)
{
    private int _attempt;

    /// <summary>The bound of the next delay (before jitter).</summary>
    public TimeSpan NextBound => TimeSpan.FromTicks((long)Math.Min(maxDelay.Ticks, baseDelay.Ticks * Math.Pow(2, Math.Min(_attempt, 30))));

    /// <summary>The delay before the next attempt.</summary>
    public TimeSpan Next()
    {
        var bound = NextBound;
        _attempt++;
        return TimeSpan.FromTicks((long)(random.NextDouble() * bound.Ticks));
    }

    /// <summary>Starts over from the base delay.</summary>
    public void Reset() => _attempt = 0;
}
