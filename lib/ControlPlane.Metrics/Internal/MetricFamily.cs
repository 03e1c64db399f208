namespace ControlPlane.Metrics.Internal;

/// <summary>
/// One Prometheus metric family: a name with one <c># HELP</c> and one <c># TYPE</c>. Several
/// instruments may map to it (the same name in two meters); they must agree on type and buckets.
/// </summary>
internal sealed class MetricFamily(string name, MetricType type, string? help, double[] bounds)
{
    private InstrumentState[] _instruments = [];

    public string Name { get; } = name;

    public MetricType Type { get; } = type;

    public string? Help { get; } = help;

    /// <summary>Bucket upper bounds of a histogram family, in the family's unit; empty otherwise.</summary>
    public double[] Bounds { get; } = bounds;

    /// <summary>Instruments in registration order: the first one wins where values cannot be added.</summary>
    public InstrumentState[] Instruments => Volatile.Read(ref _instruments);

    /// <summary>Whether an instrument of this shape may join the family.</summary>
    public bool Accepts(MetricType type, double[] bounds) => type == Type && bounds.AsSpan().SequenceEqual(Bounds);

    // Mutated only under the collector's registry lock.
    public void Add(InstrumentState instrument) => Volatile.Write(ref _instruments, [.. _instruments, instrument]);

    public bool Remove(InstrumentState instrument)
    {
        Volatile.Write(ref _instruments, _instruments.Where(i => i != instrument).ToArray());
        return _instruments.Length == 0;
    }
}
