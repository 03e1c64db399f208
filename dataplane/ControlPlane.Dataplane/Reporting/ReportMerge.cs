using ControlPlane.Api.V1;

namespace ControlPlane.Dataplane.Reporting;

/// <summary>
/// Sums image loads: the same image's counts (or parts of them) become one, their instances'
/// counts too. Used to fold intervals together when the pending cap is reached: same sums, one
/// wider interval. The loads given are left as they are.
/// </summary>
internal static class ReportMerge
{
    /// <summary>One load per image, in order of first appearance, each the sum of that image's loads.</summary>
    public static List<ImageLoad> Combine(IEnumerable<ImageLoad> loads)
    {
        var combined = new List<ImageLoad>();
        var byImage = new Dictionary<string, (ImageLoad Load, Dictionary<string, InstanceLoad> Instances)>(StringComparer.Ordinal);
        foreach (var load in loads)
        {
            if (!byImage.TryGetValue(load.Image, out var into))
            {
                var copy = load.Clone();
                into = (copy, copy.Instances.ToDictionary(i => i.InstanceId, StringComparer.Ordinal));
                byImage.Add(load.Image, into);
                combined.Add(copy);
                continue;
            }
            var image = into.Load;
            image.ReqCount += load.ReqCount;
            image.BytesTx += load.BytesTx;
            image.Errors4Xx += load.Errors4Xx;
            image.Errors5Xx += load.Errors5Xx;
            image.Latency = Sum(image.Latency, load.Latency);
            foreach (var instance in load.Instances)
            {
                if (!into.Instances.TryGetValue(instance.InstanceId, out var same))
                {
                    same = instance.Clone();
                    into.Instances.Add(same.InstanceId, same);
                    image.Instances.Add(same);
                    continue;
                }
                same.ReqCount += instance.ReqCount;
                same.BytesTx += instance.BytesTx;
                same.Errors4Xx += instance.Errors4Xx;
                same.Errors5Xx += instance.Errors5Xx;
                same.Latency = Sum(same.Latency, instance.Latency);
            }
        }
        return combined;
    }

    /// <summary>Bucket by bucket (both have the node's bounds, LatencyBounds); a histogram plus none is itself.</summary>
    public static LatencyHistogram? Sum(LatencyHistogram? into, LatencyHistogram? from)
    {
        if (into is null || from is null)
        {
            return into ?? from?.Clone();
        }
        var sum = into.Clone();
        for (var i = 0; i < sum.BucketCounts.Count && i < from.BucketCounts.Count; i++)
        {
            sum.BucketCounts[i] += from.BucketCounts[i];
        }
        sum.Count += from.Count;
        sum.SumSeconds += from.SumSeconds;
        return sum;
    }
}
