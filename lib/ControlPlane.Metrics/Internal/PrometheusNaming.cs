using System.Text;

namespace ControlPlane.Metrics.Internal;

/// <summary>
/// Turns OpenTelemetry-style instrument names, UCUM units and tag keys into Prometheus names.
/// Metric names must match <c>[a-zA-Z_:][a-zA-Z0-9_:]*</c> and label names <c>[a-zA-Z_][a-zA-Z0-9_]*</c>
/// (Prometheus data model); by the naming conventions a name ends in its unit, plural
/// (<c>_seconds</c>, <c>_bytes</c>), and an accumulating count ends in <c>_total</c>, after the unit.
/// </summary>
internal static class PrometheusNaming
{
    private const string TotalSuffix = "_total";

    /// <summary>The family name and the factor that converts measurements into the named unit (ms → s: 0.001).</summary>
    public static (string Name, double Scale) MetricName(string instrumentName, string? unit, MetricType type)
    {
        if (type == MetricType.Gauge && RuntimeGauges.TryGetValue(instrumentName, out var renamed))
        {
            return (renamed, 1);
        }
        var name = Sanitize(instrumentName).ToLowerInvariant();
        var (suffix, scale) = UnitSuffix(unit);
        if (type == MetricType.Counter && name.EndsWith(TotalSuffix, StringComparison.Ordinal) && name.Length > TotalSuffix.Length)
        {
            // "_total" goes after the unit: requests_total with unit s becomes requests_seconds_total.
            name = name[..^TotalSuffix.Length];
        }
        if (suffix.Length > 0 && !name.EndsWith("_" + suffix, StringComparison.Ordinal))
        {
            name += "_" + suffix;
        }
        if (type == MetricType.Counter)
        {
            name += TotalSuffix;
        }
        return (name, scale);
    }

    /// <summary>
    /// The runtime's gauges named "*.count": in Prometheus a "_count" series is a histogram's or
    /// summary's sample count, so <c>promtool check metrics</c> refuses it on a gauge. They are named
    /// for what they count, as Prometheus's own gauges are (<c>go_goroutines</c>, <c>process_open_fds</c>).
    /// </summary>
    private static readonly Dictionary<string, string> RuntimeGauges = new(StringComparer.Ordinal)
    {
        ["dotnet.assembly.count"] = "dotnet_assemblies_loaded",
        ["dotnet.process.cpu.count"] = "dotnet_process_cpus",
        ["dotnet.timer.count"] = "dotnet_timers_active",
    };

    /// <summary>
    /// A tag key as a label name. Collapsing runs of '_' also keeps names out of the "__" prefix
    /// that Prometheus reserves for its own labels.
    /// </summary>
    public static string LabelName(string key) => Sanitize(key);

    /// <summary>
    /// The Prometheus unit word for a UCUM unit. Annotations in braces ("{request}") name the thing
    /// counted, not a unit, and add nothing; so does the dimensionless "1". Sub-second time units are
    /// converted to seconds, because a Prometheus metric has one base unit.
    /// </summary>
    public static (string Suffix, double Scale) UnitSuffix(string? unit)
    {
        if (string.IsNullOrWhiteSpace(unit))
        {
            return ("", 1);
        }
        var bare = StripAnnotations(unit).Trim();
        switch (bare)
        {
            case "" or "1":
                return ("", 1);
            case "ms":
                return ("seconds", 1e-3);
            case "us":
                return ("seconds", 1e-6);
            case "ns":
                return ("seconds", 1e-9);
        }
        var slash = bare.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return (Units.GetValueOrDefault(bare, ""), 1);
        }
        var numerator = bare[..slash] is "" or "1" ? "" : Units.GetValueOrDefault(bare[..slash], "");
        var denominator = PerUnits.GetValueOrDefault(bare[(slash + 1)..], "");
        if (denominator.Length == 0)
        {
            return (numerator, 1);
        }
        return (numerator.Length == 0 ? "per_" + denominator : numerator + "_per_" + denominator, 1);
    }

    private static readonly Dictionary<string, string> Units = new(StringComparer.Ordinal)
    {
        ["s"] = "seconds", ["min"] = "minutes", ["h"] = "hours", ["d"] = "days",
        ["By"] = "bytes", ["KiBy"] = "kibibytes", ["MiBy"] = "mebibytes", ["GiBy"] = "gibibytes",
        ["bit"] = "bits", ["%"] = "percent", ["Hz"] = "hertz", ["Cel"] = "celsius",
        ["m"] = "meters", ["g"] = "grams", ["V"] = "volts", ["A"] = "amperes", ["J"] = "joules", ["W"] = "watts",
    };

    private static readonly Dictionary<string, string> PerUnits = new(StringComparer.Ordinal)
    {
        ["s"] = "second", ["min"] = "minute", ["h"] = "hour", ["d"] = "day", ["m"] = "meter",
    };

    private static string StripAnnotations(string unit)
    {
        if (!unit.Contains('{', StringComparison.Ordinal))
        {
            return unit;
        }
        var sb = new StringBuilder(unit.Length);
        var depth = 0;
        foreach (var c in unit)
        {
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}' && depth > 0)
            {
                depth--;
            }
            else if (depth == 0)
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// Replaces every character outside [a-zA-Z0-9_] with '_' (colons too: they are reserved for
    /// recording rules), collapses runs of '_', and never starts with a digit.
    /// </summary>
    private static string Sanitize(string name)
    {
        var sb = new StringBuilder(name.Length + 1);
        foreach (var c in name)
        {
            var next = char.IsAsciiLetterOrDigit(c) ? c : '_';
            if (next == '_' && sb.Length > 0 && sb[^1] == '_')
            {
                continue;
            }
            sb.Append(next);
        }
        if (sb.Length == 0 || char.IsAsciiDigit(sb[0]))
        {
            sb.Insert(0, '_');
        }
        return sb.ToString();
    }
}
