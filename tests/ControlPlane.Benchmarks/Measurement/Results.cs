namespace ControlPlane.Benchmarks.Measurement;

/// <summary>
/// One measured run: operations per second and, where measured, what each operation cost the
/// process in CPU time and allocated bytes, how many cores it kept busy, and the share of the
/// window its threads spent stopped for garbage collection.
/// </summary>
internal readonly record struct Sample(
    double Rate, double? CpuMicrosecondsPerOp = null, double? BytesPerOp = null, double? CoresBusy = null, double? GcPauseShare = null);

/// <summary>The runs of one target for one metric, in round order.</summary>
internal sealed record Series(string Name, IReadOnlyList<Sample> Samples)
{
    public double Median => MedianOf(Samples.Select(s => s.Rate));

    public double? CpuMicrosecondsPerOp => Samples.All(s => s.CpuMicrosecondsPerOp is not null) ? MedianOf(Samples.Select(s => s.CpuMicrosecondsPerOp!.Value)) : null;

    public double? BytesPerOp => Samples.All(s => s.BytesPerOp is not null) ? MedianOf(Samples.Select(s => s.BytesPerOp!.Value)) : null;

    public double? CoresBusy => Samples.All(s => s.CoresBusy is not null) ? MedianOf(Samples.Select(s => s.CoresBusy!.Value)) : null;

    public double? GcPauseShare => Samples.All(s => s.GcPauseShare is not null) ? MedianOf(Samples.Select(s => s.GcPauseShare!.Value)) : null;

    private static double MedianOf(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}

/// <summary>One metric measured against several targets in alternating rounds, compared to <see cref="Baseline"/>.</summary>
internal sealed record Comparison(string Metric, IReadOnlyList<Series> Targets, int BaselineIndex)
{
    public Series Baseline => Targets[BaselineIndex];

    public double Ratio(Series target) => target.Median / Baseline.Median;
}
