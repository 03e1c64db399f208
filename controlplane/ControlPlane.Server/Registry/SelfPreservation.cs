namespace ControlPlane.Server.Registry;

/// <summary>
/// Decides whether overdue instances may expire now. The share is (expired within the window +
/// overdue now) / (live + expired within the window): a burst of missed heartbeats across the fleet
/// crosses the threshold and stops expiry; it resumes once renewals bring the overdue count back
/// under it. Every number comes from the store (<see cref="Storage.ExpiryScan"/>), so replicas
/// sharing one decide on the whole fleet, whichever of them expired what. Not thread-safe: the
/// expiry scheduler calls it from one pass at a time.
/// </summary>
internal sealed class SelfPreservation(SelfPreservationOptions options)
{
    public bool Engaged { get; private set; }

    public double LastShare { get; private set; }

    /// <summary>True when <paramref name="overdue"/> instances may expire now; flips <see cref="Engaged"/> as the share crosses the threshold.</summary>
    public bool AllowExpiry(int overdue, int live, int recentlyExpired, out bool changed)
    {
        var population = live + recentlyExpired;
        var share = population == 0 ? 0 : (double)(recentlyExpired + overdue) / population;
        LastShare = share;
        var engage = options.Enabled && population >= options.MinInstances && overdue > 0 && share > options.Threshold;
        changed = engage != Engaged;
        Engaged = engage;
        return !engage;
    }
}
