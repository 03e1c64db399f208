namespace ControlPlane.Server.Stats;

/// <summary>The content of one validated load report, in the control plane's own terms (histograms already in <see cref="LatencyBuckets"/>).</summary>
/// <param name="Images">Each image once.</param>
public sealed record LoadBatch(IReadOnlyList<ImageLoadCounts> Images)
{
    /// <summary>Requests the report counts, over all images.</summary>
    public long Requests => Images.Sum(i => i.Counts.Requests);
}

/// <param name="Image">The image.</param>
/// <param name="Counts">Everything served for it.</param>
/// <param name="Instances">What was forwarded to each instance, each once.</param>
public sealed record ImageLoadCounts(string Image, LoadCounts Counts, IReadOnlyList<InstanceLoadCounts> Instances);

public sealed record InstanceLoadCounts(string InstanceId, LoadCounts Counts);
