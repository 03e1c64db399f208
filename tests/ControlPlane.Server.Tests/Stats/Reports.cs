using ControlPlane.Api.V1;
using Google.Protobuf.WellKnownTypes;

namespace ControlPlane.Server.Tests.Stats;

/// <summary>Load reports as a node builds them, with consistent counts and latency histograms.</summary>
internal static class Reports
{
    /// <summary>The dataplane's bounds (the control plane's too): 1 ms to 60 s.</summary>
    public static readonly double[] Bounds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    private static readonly DateTimeOffset Start = new(2026, 1, 1, 9, 59, 50, TimeSpan.Zero);

    public static ReportLoadRequest Report(string epoch, ulong sequence, params ImageLoad[] images)
    {
        var report = new ReportLoadRequest
        {
            Epoch = epoch,
            Sequence = sequence,
            IntervalStart = Timestamp.FromDateTimeOffset(Start.AddSeconds(10 * (double)sequence)),
            IntervalEnd = Timestamp.FromDateTimeOffset(Start.AddSeconds(10 * (double)sequence + 10)),
        };
        report.Images.AddRange(images);
        return report;
    }

    /// <summary>
    /// <paramref name="requests"/> requests of <paramref name="image"/>, <paramref name="bytesPerRequest"/>
    /// bytes each, all taking about <paramref name="latencySeconds"/>, forwarded evenly to <paramref name="instances"/>.
    /// </summary>
    public static ImageLoad Image(string image, long requests, long bytesPerRequest = 100, long errors4xx = 0, long errors5xx = 0, double latencySeconds = 0.004, params string[] instances)
    {
        var load = new ImageLoad
        {
            Image = image,
            ReqCount = requests,
            BytesTx = requests * bytesPerRequest,
            Errors4Xx = errors4xx,
            Errors5Xx = errors5xx,
            Latency = Histogram(requests, latencySeconds),
        };
        for (var i = 0; i < instances.Length; i++)
        {
            var share = requests / instances.Length + (i < requests % instances.Length ? 1 : 0);
            load.Instances.Add(new InstanceLoad
            {
                InstanceId = instances[i],
                ReqCount = share,
                BytesTx = share * bytesPerRequest,
                Latency = Histogram(share, latencySeconds),
            });
        }
        return load;
    }

    public static LatencyHistogram Histogram(long samples, double latencySeconds)
    {
        var histogram = new LatencyHistogram { Count = samples, SumSeconds = samples * latencySeconds };
        histogram.BoundsSeconds.AddRange(Bounds);
        var bucket = Array.FindIndex(Bounds, b => latencySeconds <= b);
        for (var i = 0; i <= Bounds.Length; i++)
        {
            histogram.BucketCounts.Add(i == (bucket < 0 ? Bounds.Length : bucket) ? samples : 0);
        }
        return histogram;
    }
}
