namespace ControlPlane.Benchmarks.Measurement;

/// <summary>How <see cref="AlternatingRounds"/> runs each target: warm-up slices, then timed rounds.</summary>
internal interface IRoundSettings
{
    /// <summary>Measured time of one run of one target.</summary>
    TimeSpan Duration { get; }

    /// <summary>Load before each measured window (connections, flow-control windows).</summary>
    TimeSpan Ramp { get; }

    /// <summary>
    /// One warm-up slice. Before its rounds, each target runs slices until the rate is steady:
    /// tiered compilation with PGO takes several seconds under load to reach its final code, and
    /// a run before that measures the JIT, not the server.
    /// </summary>
    TimeSpan WarmupSlice { get; }

    /// <summary>The most warm-up slices per target, steady or not.</summary>
    int MaxWarmupSlices { get; }

    /// <summary>Alternating runs of each target per metric.</summary>
    int Rounds { get; }
}
