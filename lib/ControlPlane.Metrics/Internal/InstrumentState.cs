using System.Diagnostics.Metrics;

namespace ControlPlane.Metrics.Internal;

/// <summary>
/// One exported instrument: the family it belongs to, the factor into the family's unit, and its
/// series. The <see cref="MeterListener"/> hands this object back with every measurement.
/// </summary>
internal sealed class InstrumentState
{
    private readonly double _scale;
    private readonly MetricsCollector _collector;

    public InstrumentState(Instrument instrument, InstrumentKind kind, double scale, MetricFamily family, MetricsCollector collector)
    {
        Instrument = instrument;
        Kind = kind;
        Family = family;
        _scale = scale;
        _collector = collector;
        var bounds = family.Bounds;
        Series = new SeriesTable(kind.Aggregation switch
        {
            Aggregation.Sum => labels => new SumSeries(labels, kind.Monotonic),
            Aggregation.LastValue => labels => new LastValueSeries(labels),
            _ => labels => new HistogramSeries(labels, bounds),
        });
    }

    public Instrument Instrument { get; }

    public InstrumentKind Kind { get; }

    public MetricFamily Family { get; }

    public SeriesTable Series { get; }

    /// <summary>Observable instruments report only when the collector asks, at scrape time.</summary>
    public bool IsObservable => Instrument.IsObservable;

    public void Record(long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var series = Series.Get(tags);
        if (_scale == 1)
        {
            series.Record(value); // exact integer arithmetic for integer instruments
        }
        else
        {
            series.Record(value * _scale);
        }
        MarkObserved(series);
    }

    public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var series = Series.Get(tags);
        series.Record(value * _scale);
        MarkObserved(series);
    }

    /// <summary>Whether the series belongs in the current scrape: an observable's series only if its callback just reported it.</summary>
    public bool IsCurrent(Series series) => !IsObservable || series.Generation == _collector.Generation;

    private void MarkObserved(Series series)
    {
        if (IsObservable)
        {
            series.Generation = _collector.Generation;
        }
    }
}
