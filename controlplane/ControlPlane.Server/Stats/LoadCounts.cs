namespace ControlPlane.Server.Stats;

/// <summary>
/// What was served for one image (or one instance) over some time: requests, bytes, errors and a
/// latency histogram in <see cref="LatencyBuckets"/>. Mutable: stores add reports into their own
/// copies and hand out fresh ones.
/// </summary>
public sealed class LoadCounts
{
    public long Requests { get; set; }

    public long BytesTx { get; set; }

    public long Errors4xx { get; set; }

    public long Errors5xx { get; set; }

    /// <summary>Samples per latency bucket (<see cref="LatencyBuckets.Count"/> entries).</summary>
    public long[] Latency { get; } = new long[LatencyBuckets.Count];

    /// <summary>Adds <paramref name="other"/>; sums saturate instead of wrapping, so hostile input can never make a count negative.</summary>
    public void Add(LoadCounts other)
    {
        ArgumentNullException.ThrowIfNull(other);
        Requests = Saturating(Requests, other.Requests);
        BytesTx = Saturating(BytesTx, other.BytesTx);
        Errors4xx = Saturating(Errors4xx, other.Errors4xx);
        Errors5xx = Saturating(Errors5xx, other.Errors5xx);
        for (var i = 0; i < Latency.Length; i++)
        {
            Latency[i] = Saturating(Latency[i], other.Latency[i]);
        }
    }

    public LoadCounts Clone()
    {
        var copy = new LoadCounts();
        copy.Add(this);
        return copy;
    }

    private static long Saturating(long a, long b) => a > long.MaxValue - b ? long.MaxValue : a + b;
}
