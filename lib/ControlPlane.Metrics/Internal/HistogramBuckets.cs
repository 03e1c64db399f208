using System.Diagnostics.Metrics;
using System.Numerics;

namespace ControlPlane.Metrics.Internal;

/// <summary>The bucket bounds of a histogram: the instrument's advice when it gives one, else the configured default.</summary>
internal static class HistogramBuckets
{
    /// <summary>
    /// Finite, sorted, distinct bounds. Advice is in the instrument's unit, so it is scaled into the
    /// family's (a millisecond histogram's bounds become seconds); the default is already in seconds.
    /// </summary>
    public static double[] For(Instrument instrument, double scale, double[] defaults)
    {
        var advice = instrument switch
        {
            Instrument<double> i => Convert(i.Advice),
            Instrument<float> i => Convert(i.Advice),
            Instrument<long> i => Convert(i.Advice),
            Instrument<int> i => Convert(i.Advice),
            Instrument<short> i => Convert(i.Advice),
            Instrument<byte> i => Convert(i.Advice),
            Instrument<decimal> i => Convert(i.Advice),
            _ => null,
        };
        return advice is null ? defaults : Normalize(advice.Select(b => b * scale));
    }

    /// <summary>Bounds fit for the <c>le</c> label: NaN and infinities dropped (+Inf is always added by the writer).</summary>
    public static double[] Normalize(IEnumerable<double> bounds) =>
        bounds.Where(double.IsFinite).Distinct().Order().ToArray();

    private static IEnumerable<double>? Convert<T>(InstrumentAdvice<T>? advice)
        where T : struct, INumberBase<T> =>
        advice?.HistogramBucketBoundaries?.Select(double.CreateChecked);
}
