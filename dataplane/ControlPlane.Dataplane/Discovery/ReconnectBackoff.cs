namespace ControlPlane.Dataplane.Discovery;

/// <summary>
/// Exponential backoff with full jitter (AWS architecture blog): attempt n waits a uniform delay in
/// [0, min(max, base · 2^n)]. <see cref="Reset"/> after a stream that got an answer. Used by the load
/// reporter; the discovery stream uses the SDK's (agents-sdk, Internal/ExponentialBackoff), same rule.
/// </summary>
internal sealed class ReconnectBackoff(TimeSpan baseDelay, TimeSpan maxDelay, Random random)
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
