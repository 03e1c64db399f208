namespace ControlPlane.Server.Stats;

/// <summary>
/// The latency buckets the control plane keeps counts in. Nodes may report other bounds
/// (types.proto LatencyHistogram); their buckets are moved into these by upper bound, which is
/// exact when the bounds agree (the dataplane's default bounds are these) and never reports a
/// latency lower than measured otherwise.
/// </summary>
internal static class LatencyBuckets
{
    /// <summary>Upper bounds in seconds, 1 ms to 60 s; one more bucket counts slower samples.</summary>
    public static readonly double[] Bounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    public static int Count => Bounds.Length + 1;

    /// <summary>The bucket holding samples up to <paramref name="upperBound"/> seconds.</summary>
    public static int AtMost(double upperBound)
    {
        for (var i = 0; i < Bounds.Length; i++)
        {
            if (upperBound <= Bounds[i])
            {
                return i;
            }
        }
        return Bounds.Length;
    }

    /// <summary>The bucket holding samples just above <paramref name="lowerBound"/> seconds (a node's overflow bucket).</summary>
    public static int Above(double lowerBound)
    {
        for (var i = 0; i < Bounds.Length; i++)
        {
            if (lowerBound < Bounds[i])
            {
                return i;
            }
        }
        return Bounds.Length;
    }

    /// <summary>
    /// The <paramref name="quantile"/> in milliseconds, interpolated linearly inside its bucket as
    /// Prometheus' histogram_quantile does (the first bucket starts at 0; samples above the last
    /// bound report that bound); 0 without samples.
    /// </summary>
    public static double QuantileMilliseconds(long[] counts, double quantile)
    {
        long total = 0;
        foreach (var c in counts)
        {
            total += c;
        }
        if (total == 0)
        {
            return 0;
        }
        var rank = quantile * total;
        long below = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            if (counts[i] > 0 && below + counts[i] >= rank)
            {
                if (i >= Bounds.Length)
                {
                    break;
                }
                var lower = i == 0 ? 0 : Bounds[i - 1];
                var upper = Bounds[i];
                return (lower + (upper - lower) * (rank - below) / counts[i]) * 1000;
            }
            below += counts[i];
        }
        return Bounds[^1] * 1000;
    }
}
