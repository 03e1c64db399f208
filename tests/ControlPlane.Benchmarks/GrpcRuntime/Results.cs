namespace ControlPlane.Benchmarks.GrpcRuntime;

/// <summary>
/// One measured run: operations per second and, where the process holds only the servers (h2load
/// runs), what each operation cost them in CPU time and allocated bytes.
/// </summary>
internal readonly record struct Sample(double Rate, double? CpuMicrosecondsPerOp = null, double? BytesPerOp = null);

/// <summary>The runs of one target for one metric, in round order.</summary>
internal sealed record Series(string Name, IReadOnlyList<Sample> Samples)
{
    public double Median => MedianOf(Samples.Select(s => s.Rate));

    public double? CpuMicrosecondsPerOp => Samples.All(s => s.CpuMicrosecondsPerOp is not null) ? MedianOf(Samples.Select(s => s.CpuMicrosecondsPerOp!.Value)) : null;

    public double? BytesPerOp => Samples.All(s => s.BytesPerOp is not null) ? MedianOf(Samples.Select(s => s.BytesPerOp!.Value)) : null;

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
