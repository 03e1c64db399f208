namespace ControlPlane.Dataplane.Reporting;

/// <summary>
/// Upper bounds, in seconds, of the latency histograms the node reports: the control plane keeps
/// its counts in the same buckets, so they merge exactly (types.proto LatencyHistogram).
/// </summary>
internal static class LatencyBounds
{
    public static readonly double[] Seconds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    // The bounds in TimeSpan ticks: the hot path compares integers.
    private static readonly long[] Ticks = [.. Seconds.Select(s => (long)Math.Round(s * TimeSpan.TicksPerSecond))];

    public static int Buckets => Seconds.Length + 1;

    /// <summary>The bucket of a sample: the first bound at or above it, else the last (overflow) bucket.</summary>
    public static int IndexOf(TimeSpan latency)
    {
        var ticks = latency.Ticks;
        for (var i = 0; i < Ticks.Length; i++)
        {
            if (ticks <= Ticks[i])
            {
                return i;
            }
        }
        return Ticks.Length;
    }
}
