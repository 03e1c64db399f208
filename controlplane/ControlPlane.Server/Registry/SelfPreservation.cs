namespace ControlPlane.Server.Registry;

/// <summary>
/// Decides whether overdue instances may expire now. The share is (expired within the window +
/// overdue now) / (live + expired within the window): a burst of missed heartbeats across the fleet
/// crosses the threshold and stops expiry; it resumes once renewals bring the overdue count back
/// under it. Not thread-safe: the expiry scheduler calls it from one tick at a time.
/// </summary>
internal sealed class SelfPreservation(SelfPreservationOptions options)
{
    private readonly Queue<(DateTimeOffset At, int Count)> _recent = new();
    private int _recentTotal;

    public bool Engaged { get; private set; }

    public double LastShare { get; private set; }

    /// <summary>True when <paramref name="overdue"/> instances may expire now; flips <see cref="Engaged"/> as the share crosses the threshold.</summary>
    public bool AllowExpiry(DateTimeOffset now, int overdue, int live, out bool changed)
    {
        Trim(now);
        var population = live + _recentTotal;
        var share = population == 0 ? 0 : (double)(_recentTotal + overdue) / population;
        LastShare = share;
        var engage = options.Enabled && population >= options.MinInstances && overdue > 0 && share > options.Threshold;
        changed = engage != Engaged;
        Engaged = engage;
        return !engage;
    }

    public void RecordExpired(DateTimeOffset now, int count)
    {
        if (count > 0)
        {
            _recent.Enqueue((now, count));
            _recentTotal += count;
        }
    }

    private void Trim(DateTimeOffset now)
    {
        while (_recent.TryPeek(out var head) && head.At <= now - options.Window)
        {
            _recent.Dequeue();
            _recentTotal -= head.Count;
        }
    }
}
