namespace ControlPlane.Benchmarks.GrpcRuntime;

/// <summary>The per-round values of one target for one metric.</summary>
internal sealed record Series(string Name, IReadOnlyList<double> Values)
{
    public double Median
    {
        get
        {
            var sorted = Values.Order().ToArray();
            var mid = sorted.Length / 2;
            return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
        }
    }
}

/// <summary>One metric measured against several targets in alternating rounds; the first is compared to <see cref="Baseline"/>.</summary>
internal sealed record Comparison(string Metric, IReadOnlyList<Series> Targets, int BaselineIndex)
{
    public Series Baseline => Targets[BaselineIndex];

    public double Ratio(Series target) => target.Median / Baseline.Median;
}
