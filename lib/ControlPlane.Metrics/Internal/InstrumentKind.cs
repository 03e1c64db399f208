using System.Diagnostics.Metrics;

namespace ControlPlane.Metrics.Internal;

/// <summary>What an instrument becomes in Prometheus.</summary>
/// <param name="Additive">Values from two instruments of the same family and labels may be added (everything but gauges).</param>
/// <param name="Monotonic">Measurements are increments that must never be negative (Counter).</param>
internal readonly record struct InstrumentKind(MetricType Type, Aggregation Aggregation, bool Additive, bool Monotonic)
{
    /// <summary>The kind of <paramref name="instrument"/>, or null for an instrument type this exporter does not know.</summary>
    public static InstrumentKind? Of(Instrument instrument)
    {
        var type = instrument.GetType();
        if (!type.IsGenericType)
        {
            return null;
        }
        var definition = type.GetGenericTypeDefinition();
        return definition switch
        {
            _ when definition == typeof(Counter<>) => new InstrumentKind(MetricType.Counter, Aggregation.Sum, Additive: true, Monotonic: true),
            _ when definition == typeof(ObservableCounter<>) => new InstrumentKind(MetricType.Counter, Aggregation.LastValue, Additive: true, Monotonic: false),
            _ when definition == typeof(UpDownCounter<>) => new InstrumentKind(MetricType.Gauge, Aggregation.Sum, Additive: true, Monotonic: false),
            _ when definition == typeof(ObservableUpDownCounter<>) => new InstrumentKind(MetricType.Gauge, Aggregation.LastValue, Additive: true, Monotonic: false),
            _ when definition == typeof(Gauge<>) || definition == typeof(ObservableGauge<>) => new InstrumentKind(MetricType.Gauge, Aggregation.LastValue, Additive: false, Monotonic: false),
            _ when definition == typeof(Histogram<>) => new InstrumentKind(MetricType.Histogram, Aggregation.Histogram, Additive: true, Monotonic: false),
            _ => null,
        };
    }
}
