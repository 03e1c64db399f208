using ControlPlane.Dataplane.LoadBalancing;

namespace ControlPlane.Dataplane.Health;

/// <summary>
/// Passive health of one image, shared by its successive snapshots: counts failures per endpoint,
/// ejects, and answers the balancer's <c>IEndpointHealth</c> questions. The balancer asks
/// <see cref="EjectedCount"/> on every pick, so it is one volatile read while nothing is ejected;
/// it may over-count until an expired ejection is noticed (safe: the balancer then checks each
/// endpoint), never under-count.
/// </summary>
internal sealed class ImageHealth(TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly List<EndpointState> _ejected = [];
    private int _ejectedCount;
    private long _nextExpiry = long.MaxValue;

    public TimeProvider Time { get; } = time;

    /// <summary>Endpoints that may still be ejected (an upper bound).</summary>
    public int EjectedCount
    {
        get
        {
            if (Volatile.Read(ref _ejectedCount) == 0)
            {
                return 0;
            }
            if (Time.GetTimestamp() >= Volatile.Read(ref _nextExpiry))
            {
                lock (_lock)
                {
                    ExpireLocked(Time.GetTimestamp());
                }
            }
            return Volatile.Read(ref _ejectedCount);
        }
    }

    public bool IsEjected(EndpointState state)
    {
        var until = Volatile.Read(ref state.EjectedUntil);
        return until != 0 && Time.GetTimestamp() < until;
    }

    /// <summary>A request to the endpoint succeeded (any answer below 500): its failure streak ends.</summary>
    public void ReportSuccess(EndpointState state, PassiveHealthOptions options)
    {
        if (Volatile.Read(ref state.ConsecutiveFailures) != 0)
        {
            Interlocked.Exchange(ref state.ConsecutiveFailures, 0);
        }
        if (Volatile.Read(ref state.Ejections) == 0)
        {
            return;
        }
        lock (_lock)
        {
            // Healthy for MaxEjectionTime since the last ejection ended: the next one starts short again.
            var until = state.EjectedUntil;
            if (state.Ejections > 0 && until != 0 && Time.GetTimestamp() - until >= Ticks(options.MaxEjectionTime))
            {
                state.Ejections = 0;
            }
        }
    }

    /// <summary>
    /// A request to the endpoint failed. Returns how long it was ejected for when this failure
    /// ejected it; null when it stays in (streak too short, already ejected, or too many of
    /// <paramref name="imageStates"/> ejected already).
    /// </summary>
    public TimeSpan? ReportFailure(EndpointState state, EndpointState[] imageStates, PassiveHealthOptions options)
    {
        if (!options.Enabled || options.MaxEjectionPercent <= 0)
        {
            return null;
        }
        if (Interlocked.Increment(ref state.ConsecutiveFailures) < Math.Max(1, options.ConsecutiveFailures))
        {
            return null;
        }
        lock (_lock)
        {
            var now = Time.GetTimestamp();
            if (state.EjectedUntil > now)
            {
                return null;
            }
            ExpireLocked(now);
            var ejectedNow = 0;
            foreach (var other in imageStates)
            {
                if (other.EjectedUntil > now)
                {
                    ejectedNow++;
                }
            }
            var allowed = Math.Max(1, imageStates.Length * Math.Min(options.MaxEjectionPercent, 100) / 100);
            if (ejectedNow >= allowed)
            {
                return null; // the streak goes on; the endpoint is ejected once there is room
            }
            state.Ejections = Math.Min(state.Ejections + 1, 1_000);
            var duration = TimeSpan.FromTicks(Math.Min(options.BaseEjectionTime.Ticks * state.Ejections, options.MaxEjectionTime.Ticks));
            Volatile.Write(ref state.EjectedUntil, now + Ticks(duration));
            Interlocked.Exchange(ref state.ConsecutiveFailures, 0);
            _ejected.Add(state);
            _nextExpiry = Math.Min(_nextExpiry, state.EjectedUntil);
            Volatile.Write(ref _ejectedCount, _ejected.Count);
            return duration;
        }
    }

    private void ExpireLocked(long now)
    {
        var next = long.MaxValue;
        _ejected.RemoveAll(s => s.EjectedUntil <= now);
        foreach (var s in _ejected)
        {
            next = Math.Min(next, s.EjectedUntil);
        }
        Volatile.Write(ref _nextExpiry, next);
        Volatile.Write(ref _ejectedCount, _ejected.Count);
    }

    private long Ticks(TimeSpan duration) => (long)(duration.TotalSeconds * Time.TimestampFrequency);
}
