namespace ControlPlane.Dataplane.Reporting;

/// <summary>
/// What the node served, per image and per instance, fed by the proxy once per answered request
/// (its own 404/502/503/504 answers included). <see cref="Collect"/> closes the current interval and
/// starts the next; <see cref="LoadReporter"/> calls it every report interval.
/// </summary>
internal sealed class LoadRecorder
{
    private IntervalCounters _current = new();

    /// <summary>Counts one answered request; <paramref name="instanceId"/> only when it was forwarded to one.</summary>
    public void Record(string image, string? instanceId, int status, long bytesSent, TimeSpan latency)
    {
        while (!Volatile.Read(ref _current).TryAdd(image, instanceId, status, bytesSent, latency))
        {
            // The interval closed under us: the next one is already in place.
        }
    }

    /// <summary>Closes the current interval and returns its counts; later requests count in the next.</summary>
    public IntervalCounters Collect()
    {
        var closed = Interlocked.Exchange(ref _current, new IntervalCounters());
        closed.Close();
        return closed;
    }
}
