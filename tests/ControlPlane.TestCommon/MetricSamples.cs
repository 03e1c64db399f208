using System.Globalization;

namespace ControlPlane.TestCommon;

/// <summary>Reads samples out of a Prometheus text exposition, so tests can compare values rather than whole lines.</summary>
public static class MetricSamples
{
    /// <summary>
    /// The value of the sample named exactly <paramref name="series"/> (name plus labels as exposed,
    /// e.g. <c>x_total{type="A"}</c>); null when the exposition has no such sample.
    /// </summary>
    public static double? Find(string exposition, string series)
    {
        ArgumentNullException.ThrowIfNull(exposition);
        foreach (var line in exposition.Split('\n'))
        {
            if (line.Length > series.Length && line[series.Length] == ' ' && line.StartsWith(series, StringComparison.Ordinal))
            {
                var value = line[(series.Length + 1)..].Split(' ')[0];
                return value switch
                {
                    "+Inf" => double.PositiveInfinity,
                    "-Inf" => double.NegativeInfinity,
                    _ => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
                };
            }
        }
        return null;
    }

    /// <summary>The sample's value; fails the test when it is missing.</summary>
    public static double Get(string exposition, string series) =>
        Find(exposition, series) ?? throw new Xunit.Sdk.XunitException($"No sample '{series}' in:{Environment.NewLine}{exposition}");
}
