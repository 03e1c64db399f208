using ControlPlane.Api.V1;

namespace ControlPlane.Dataplane.Reporting;

/// <summary>
/// Splits what an interval served into the images of several reports, none over the control
/// plane's limits (load_report.proto): at most <see cref="MaxEntries"/> entries (images and
/// instance entries) and <see cref="PendingReports.DefaultMaxReportBytes"/> serialized. A report is
/// counted in one atomic step, so its size bounds how long it holds the store. An image with more
/// instances than fit in one report is split into parts, each with some of its instances and image
/// counts that are theirs; the first part also carries what the node answered itself (the image's
/// counts less its instances'). The parts add up to the image exactly, and each is a valid image
/// load on its own (its instances never count more than it does).
/// </summary>
internal static class ReportPacker
{
    /// <summary>Entries (images and instance entries) in one report: half of the control plane's default limit of each.</summary>
    public const int MaxEntries = 500;

    /// <summary>Entries <paramref name="images"/> take in a report: one per image and one per instance entry.</summary>
    public static int Entries(IEnumerable<ImageLoad> images) => images.Sum(i => 1 + i.Instances.Count);

    /// <summary>The images of each report, in order; an image (or part of one) is never split further.</summary>
    public static List<List<ImageLoad>> Pack(IEnumerable<ImageLoad> images, int maxEntries, int maxBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEntries, 2);
        var reports = new List<List<ImageLoad>>();
        List<ImageLoad>? report = null;
        int entries = 0, bytes = 0;
        foreach (var part in images.SelectMany(image => Parts(image, maxEntries - 1)))
        {
            var partEntries = 1 + part.Instances.Count;
            var partBytes = part.CalculateSize();
            if (report is null || (report.Count > 0 && (entries + partEntries > maxEntries || bytes + partBytes > maxBytes)))
            {
                report = [];
                reports.Add(report);
                entries = bytes = 0;
            }
            report.Add(part);
            entries += partEntries;
            bytes += partBytes;
        }
        return reports;
    }

    /// <summary>The image itself when its instances fit; else parts of at most <paramref name="maxInstances"/> instances each.</summary>
    internal static IEnumerable<ImageLoad> Parts(ImageLoad image, int maxInstances)
    {
        if (image.Instances.Count <= maxInstances)
        {
            yield return image;
            yield break;
        }
        // What the node answered itself: the image's counts less every instance's.
        var own = image.Clone();
        own.Instances.Clear();
        foreach (var instance in image.Instances)
        {
            own.ReqCount -= instance.ReqCount;
            own.BytesTx -= instance.BytesTx;
            own.Errors4Xx -= instance.Errors4Xx;
            own.Errors5Xx -= instance.Errors5Xx;
            own.Latency = Subtract(own.Latency, instance.Latency);
        }
        for (var first = 0; first < image.Instances.Count; first += maxInstances)
        {
            var part = first == 0 ? own : new ImageLoad { Image = image.Image, Latency = Empty(image.Latency) };
            foreach (var instance in image.Instances.Skip(first).Take(maxInstances))
            {
                part.Instances.Add(instance);
                part.ReqCount += instance.ReqCount;
                part.BytesTx += instance.BytesTx;
                part.Errors4Xx += instance.Errors4Xx;
                part.Errors5Xx += instance.Errors5Xx;
                part.Latency = ReportMerge.Sum(part.Latency, instance.Latency);
            }
            yield return part;
        }
    }

    private static LatencyHistogram? Subtract(LatencyHistogram? from, LatencyHistogram? what)
    {
        if (from is null || what is null)
        {
            return from;
        }
        for (var i = 0; i < from.BucketCounts.Count && i < what.BucketCounts.Count; i++)
        {
            from.BucketCounts[i] -= what.BucketCounts[i];
        }
        from.Count -= what.Count;
        // Sums of seconds are doubles: what is left of them may round a hair below zero.
        from.SumSeconds = Math.Max(0, from.SumSeconds - what.SumSeconds);
        return from;
    }

    private static LatencyHistogram? Empty(LatencyHistogram? like)
    {
        if (like is null)
        {
            return null;
        }
        var empty = new LatencyHistogram();
        empty.BoundsSeconds.AddRange(like.BoundsSeconds);
        empty.BucketCounts.AddRange(new long[like.BucketCounts.Count]);
        return empty;
    }
}
