using ControlPlane.Api.V1;

namespace ControlPlane.Dataplane.Reporting;

/// <summary>Adds an interval's counts into an unsent report (the pending cap is reached): same sums, one wider interval.</summary>
internal static class ReportMerge
{
    public static void Into(ReportLoadRequest report, List<ImageLoad> images, DateTimeOffset end)
    {
        report.IntervalEnd = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(end);
        foreach (var image in images)
        {
            var existing = report.Images.FirstOrDefault(i => i.Image == image.Image);
            if (existing is null)
            {
                report.Images.Add(image);
                continue;
            }
            existing.ReqCount += image.ReqCount;
            existing.BytesTx += image.BytesTx;
            existing.Errors4Xx += image.Errors4Xx;
            existing.Errors5Xx += image.Errors5Xx;
            Add(existing.Latency, image.Latency);
            foreach (var instance in image.Instances)
            {
                var same = existing.Instances.FirstOrDefault(i => i.InstanceId == instance.InstanceId);
                if (same is null)
                {
                    existing.Instances.Add(instance);
                    continue;
                }
                same.ReqCount += instance.ReqCount;
                same.BytesTx += instance.BytesTx;
                same.Errors4Xx += instance.Errors4Xx;
                same.Errors5Xx += instance.Errors5Xx;
                Add(same.Latency, instance.Latency);
            }
        }
    }

    // Both histograms have the node's bounds (LatencyBounds): bucket by bucket.
    private static void Add(LatencyHistogram into, LatencyHistogram from)
    {
        for (var i = 0; i < into.BucketCounts.Count; i++)
        {
            into.BucketCounts[i] += from.BucketCounts[i];
        }
        into.Count += from.Count;
        into.SumSeconds += from.SumSeconds;
    }
}
