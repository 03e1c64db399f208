namespace ControlPlane.Metrics.Internal;

/// <summary>Matches meter names against <see cref="PrometheusMetricsOptions.Meters"/>: exact names, or prefixes ending in '*'.</summary>
internal sealed class MeterFilter
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly List<string> _prefixes = [];

    public MeterFilter(IEnumerable<string> patterns)
    {
        foreach (var pattern in patterns)
        {
            if (pattern.EndsWith('*'))
            {
                _prefixes.Add(pattern[..^1]);
            }
            else
            {
                _names.Add(pattern);
            }
        }
    }

    public bool Matches(string meterName) =>
        _names.Contains(meterName) || _prefixes.Exists(p => meterName.StartsWith(p, StringComparison.Ordinal));
}
