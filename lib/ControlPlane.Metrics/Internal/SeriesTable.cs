using System.Collections.Concurrent;

namespace ControlPlane.Metrics.Internal;

/// <summary>
/// The series of one instrument, one per distinct label set. Finding an existing series is a
/// lock-free dictionary read keyed by the measurement's own tag span; only the first measurement of
/// a new tag list takes the lock, renders its labels and allocates.
/// </summary>
internal sealed class SeriesTable
{
    /// <summary>Series beyond this many per instrument go to one overflow series, bounding memory and scrape size.</summary>
    public const int MaxSeries = 2000;

    /// <summary>The label of the overflow series, as OpenTelemetry SDKs name it.</summary>
    public const string OverflowLabels = "otel_metric_overflow=\"true\"";

    private readonly ConcurrentDictionary<TagSet, Series> _byTags = new(TagSetComparer.Instance);
    private readonly ConcurrentDictionary<TagSet, Series>.AlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>> _lookup;
    private readonly Dictionary<string, Series> _byLabels = new(StringComparer.Ordinal);
    private readonly Func<string, Series> _create;
    private readonly Lock _gate = new();
    private Series? _untagged;
    private Series? _overflow;
    private Series[] _all = [];

    public SeriesTable(Func<string, Series> create)
    {
        _create = create;
        _lookup = _byTags.GetAlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>>();
    }

    /// <summary>Every series, in creation order (a stable order for the exposition).</summary>
    public Series[] All => Volatile.Read(ref _all);

    public Series Get(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.Length == 0)
        {
            return Volatile.Read(ref _untagged) ?? Add(tags);
        }
        return _lookup.TryGetValue(tags, out var series) ? series : Add(tags);
    }

    private Series Add(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        lock (_gate)
        {
            var existing = tags.Length == 0 ? _untagged : _lookup.TryGetValue(tags, out var found) ? found : null;
            if (existing is not null)
            {
                return existing;
            }
            var labels = LabelRenderer.Render(tags);
            if (!_byLabels.TryGetValue(labels, out var series))
            {
                if (_byLabels.Count >= MaxSeries)
                {
                    // Not remembered under its tags: the table stays bounded, at the price of the lock for such measurements.
                    return _overflow ??= Append(OverflowLabels);
                }
                series = Append(labels);
                _byLabels.Add(labels, series);
            }
            if (tags.Length == 0)
            {
                Volatile.Write(ref _untagged, series);
            }
            else
            {
                _lookup.TryAdd(tags, series);
            }
            return series;
        }
    }

    private Series Append(string labels)
    {
        var series = _create(labels);
        Volatile.Write(ref _all, [.. _all, series]);
        return series;
    }
}
