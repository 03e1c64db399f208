using System.Buffers;

namespace ControlPlane.Metrics.Internal;

/// <summary>
/// Writes metric families as one uninterrupted group each (HELP and TYPE first, then the samples),
/// as the text format requires, sorted by name so repeated scrapes read the same.
/// </summary>
internal static class ExpositionWriter
{
    public static void Write(IEnumerable<MetricFamily> families, IBufferWriter<byte> output)
    {
        var text = new PrometheusText(output);
        var samples = new List<Sample>();
        foreach (var family in families)
        {
            samples.Clear();
            Gather(family, samples);
            if (samples.Count == 0)
            {
                continue; // nothing recorded (yet), or an observable that reported nothing
            }
            if (!string.IsNullOrEmpty(family.Help))
            {
                text.Help(family.Name, family.Help);
            }
            text.Type(family.Name, family.Type);
            foreach (var sample in samples)
            {
                if (family.Type == MetricType.Histogram)
                {
                    WriteHistogram(text, family, sample);
                }
                else
                {
                    text.Sample(family.Name, "", sample.Labels, sample.Value);
                }
            }
        }
    }

    /// <summary>
    /// A histogram named x is written as cumulative <c>x_bucket{le="..."}</c> lines in increasing
    /// order of <c>le</c>, ending with <c>le="+Inf"</c>, whose value must equal <c>x_count</c>; then
    /// <c>x_sum</c> and <c>x_count</c>. Deriving the count from the same bucket snapshot keeps the two
    /// identical even while other threads record.
    /// </summary>
    private static void WriteHistogram(PrometheusText text, MetricFamily family, Sample sample)
    {
        long cumulative = 0;
        for (var i = 0; i < family.Bounds.Length; i++)
        {
            cumulative += sample.Counts![i];
            text.Sample(family.Name, "_bucket", sample.Labels, cumulative, family.Bounds[i]);
        }
        cumulative += sample.Counts![^1];
        text.Sample(family.Name, "_bucket", sample.Labels, cumulative, double.PositiveInfinity);
        text.Sample(family.Name, "_sum", sample.Labels, sample.Value);
        text.Sample(family.Name, "_count", sample.Labels, cumulative);
    }

    /// <summary>
    /// The family's samples, one per label set. Two instruments of one family (the same name in
    /// two meters) that both report a label set are added when their values are additive (sums,
    /// histograms); for gauges the first instrument registered wins, deterministically.
    /// </summary>
    private static void Gather(MetricFamily family, List<Sample> samples)
    {
        var instruments = family.Instruments;
        Dictionary<string, int>? index = instruments.Length > 1 ? new(StringComparer.Ordinal) : null;
        foreach (var instrument in instruments)
        {
            foreach (var series in instrument.Series.All)
            {
                if (!instrument.IsCurrent(series))
                {
                    continue;
                }
                var sample = Sample.Of(series, family.Bounds.Length);
                if (index is null)
                {
                    samples.Add(sample);
                }
                else if (index.TryGetValue(series.Labels, out var at))
                {
                    if (instrument.Kind.Additive && samples[at].Additive)
                    {
                        samples[at] = samples[at].Plus(sample);
                    }
                }
                else
                {
                    index.Add(series.Labels, samples.Count);
                    samples.Add(sample with { Additive = instrument.Kind.Additive });
                }
            }
        }
    }

    /// <summary>A series' values at scrape time: the value (the sum, for a histogram) and a histogram's per-bucket counts.</summary>
    private readonly record struct Sample(string Labels, double Value, long[]? Counts, bool Additive = true)
    {
        public static Sample Of(Series series, int bounds) => series switch
        {
            SumSeries sum => new Sample(series.Labels, sum.Value, null),
            LastValueSeries last => new Sample(series.Labels, last.Value, null),
            HistogramSeries histogram => Histogram(histogram, bounds),
            _ => throw new InvalidOperationException("Unknown series type " + series.GetType().Name),
        };

        public Sample Plus(Sample other)
        {
            if (Counts is null || other.Counts is null)
            {
                return this with { Value = Value + other.Value };
            }
            var counts = new long[Counts.Length];
            for (var i = 0; i < counts.Length; i++)
            {
                counts[i] = Counts[i] + other.Counts[i];
            }
            return this with { Value = Value + other.Value, Counts = counts };
        }

        private static Sample Histogram(HistogramSeries series, int bounds)
        {
            var counts = new long[bounds + 1];
            var sum = series.CopyTo(counts);
            return new Sample(series.Labels, sum, counts);
        }
    }
}
