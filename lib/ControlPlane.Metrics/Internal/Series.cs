namespace ControlPlane.Metrics.Internal;

/// <summary>
/// The value of one time series: an instrument plus one distinct set of labels. Recording is
/// lock-free (interlocked operations); a scrape reads without stopping writers.
/// </summary>
internal abstract class Series(string labels)
{
    /// <summary>Rendered, escaped label pairs without braces (<c>a="x",b="y"</c>); empty when there are none.</summary>
    public string Labels { get; } = labels;

    /// <summary>The scrape in which an observable instrument last reported this series (stale otherwise).</summary>
    public long Generation;

    public abstract void Record(long value);

    public abstract void Record(double value);
}

/// <summary>Counters and up-down counters: the sum of increments, exact for integer instruments.</summary>
internal sealed class SumSeries(string labels, bool monotonic) : Series(labels)
{
    private long _integral;
    private double _fractional;

    public double Value => Volatile.Read(ref _integral) + Volatile.Read(ref _fractional);

    public override void Record(long value)
    {
        // A Prometheus counter never decreases (exposition format: counter); a negative
        // increment on a Counter<T> is an instrumentation bug that would read as a reset.
        if (!monotonic || value >= 0)
        {
            Interlocked.Add(ref _integral, value);
        }
    }

    public override void Record(double value)
    {
        if (!double.IsNaN(value) && (!monotonic || value >= 0))
        {
            AtomicDouble.Add(ref _fractional, value);
        }
    }
}

/// <summary>Gauges and observable instruments: the last value reported.</summary>
internal sealed class LastValueSeries(string labels) : Series(labels)
{
    private double _value;

    public double Value => Volatile.Read(ref _value);

    public override void Record(long value) => Volatile.Write(ref _value, value);

    public override void Record(double value) => Volatile.Write(ref _value, value);
}

/// <summary>A histogram: one count per bucket (not cumulative; the writer accumulates) and the sum.</summary>
internal sealed class HistogramSeries(string labels, double[] bounds) : Series(labels)
{
    private readonly long[] _counts = new long[bounds.Length + 1];
    private double _sum;

    public double[] Bounds { get; } = bounds;

    public override void Record(long value) => Record((double)value);

    public override void Record(double value)
    {
        if (double.IsNaN(value))
        {
            return; // it would fall in no bucket and turn the sum into NaN for good
        }
        // Bucket i counts values <= Bounds[i] ("le"); an exact match belongs to that bucket.
        var i = Array.BinarySearch(Bounds, value);
        Interlocked.Increment(ref _counts[i >= 0 ? i : ~i]);
        AtomicDouble.Add(ref _sum, value);
    }

    /// <summary>Copies the per-bucket counts (the last one is the +Inf overflow bucket) and returns the sum.</summary>
    public double CopyTo(Span<long> counts)
    {
        for (var i = 0; i < _counts.Length; i++)
        {
            counts[i] = Volatile.Read(ref _counts[i]);
        }
        return Volatile.Read(ref _sum);
    }
}

internal static class AtomicDouble
{
    public static void Add(ref double location, double value)
    {
        var current = Volatile.Read(ref location);
        while (true)
        {
            var seen = Interlocked.CompareExchange(ref location, current + value, current);
            // Compare bits, not values: NaN != NaN would spin forever.
            if (BitConverter.DoubleToInt64Bits(seen) == BitConverter.DoubleToInt64Bits(current))
            {
                return;
            }
            current = seen;
        }
    }
}
