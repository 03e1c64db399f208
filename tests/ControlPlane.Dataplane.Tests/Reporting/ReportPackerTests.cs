using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Reporting;
using ControlPlane.Server.Stats;

namespace ControlPlane.Dataplane.Tests.Reporting;

/// <summary>
/// Reports stay within the control plane's limits however much an interval served, every one of them
/// passes the control plane's own validation, and together they count exactly what was served.
/// </summary>
public sealed class ReportPackerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void AnImageWithMoreInstancesThanFit_IsSplitIntoValidParts_ThatAddUpToIt()
    {
        var recorder = new LoadRecorder();
        for (var i = 0; i < 1_234; i++)
        {
            recorder.Record("img.big", $"i-{i:D4}", i % 7 == 0 ? 503 : i % 5 == 0 ? 404 : 200, 100 + i, TimeSpan.FromMilliseconds(i % 300));
        }
        for (var i = 0; i < 17; i++)
        {
            recorder.Record("img.big", null, 503, 40, TimeSpan.FromMilliseconds(1)); // answered by the node itself
        }
        recorder.Record("img.small", "s-1", 200, 5, TimeSpan.FromMilliseconds(2));
        var images = recorder.Collect().ToImageLoads();

        var reports = Reports(images);

        Assert.Equal(3, reports.Count); // 1,234 instances at 499 a part; the small image fits beside the last
        Assert.All(reports, r => Assert.InRange(r.Images.Sum(i => 1 + i.Instances.Count), 1, ReportPacker.MaxEntries));
        Assert.All(reports, r => LoadReportValidator.Validate(r, new StatsOptions())); // throws on any violation
        AssertSameCounts(images, reports);
        // The node's own answers travel with the first part.
        var first = reports[0].Images[0];
        Assert.Equal(17 + first.Instances.Sum(i => i.ReqCount), first.ReqCount);
    }

    [Fact]
    public void ManyImages_AreSpreadOverReports_UnderTheEntryLimit()
    {
        var recorder = new LoadRecorder();
        for (var image = 0; image < 300; image++)
        {
            for (var instance = 0; instance < 3; instance++)
            {
                recorder.Record($"img.{image:D3}", $"i-{instance}", 200, 10, TimeSpan.FromMilliseconds(3));
            }
        }
        var images = recorder.Collect().ToImageLoads();

        var reports = Reports(images);

        Assert.Equal(3, reports.Count); // 1,200 entries, 125 whole images (500 entries) a report
        Assert.All(reports, r => Assert.True(r.Images.Sum(i => 1 + i.Instances.Count) <= ReportPacker.MaxEntries));
        Assert.All(reports, r => LoadReportValidator.Validate(r, new StatsOptions()));
        Assert.Equal(images.Select(i => i.Image), reports.SelectMany(r => r.Images).Select(i => i.Image)); // none split
        AssertSameCounts(images, reports);
    }

    [Fact]
    public void AtTheCap_AnOutageOfManyIntervals_KeepsABoundedTail_AndExactCounts()
    {
        // A node serving 1,200 instances through a long outage: each interval takes three reports,
        // and beyond the cap they are merged, so what the node holds stops growing.
        var pending = new PendingReports(PendingReports.NewEpoch(), 0, [], 4, null, _ => { });
        var served = new List<ImageLoad>();
        var held = new List<int>();
        for (var interval = 0; interval < 50; interval++)
        {
            var recorder = new LoadRecorder();
            for (var i = 0; i < 1_200; i++)
            {
                recorder.Record($"img.{i % 2}", $"i-{i:D4}", 200, 1, TimeSpan.FromMilliseconds(interval));
            }
            var loads = recorder.Collect().ToImageLoads();
            served.AddRange(loads);
            pending.Add(loads, T0.AddSeconds(10 * interval), T0.AddSeconds(10 * (interval + 1)));
            if (interval == 0)
            {
                pending.TakeOldest(); // the first report went out before the control plane went away
            }
            held.Add(pending.Count);
        }

        // The 3 reports before the cap's last place, then one interval's worth (1,202 entries: 4 reports).
        Assert.Equal(7, held.Max());
        Assert.All(held.Skip(1), count => Assert.Equal(7, count));
        var reports = new List<ReportLoadRequest>();
        while (pending.TakeOldest() is { } report)
        {
            reports.Add(report);
            pending.Acknowledge(pending.Epoch, report.Sequence, report.Sequence);
        }
        Assert.Equal(Enumerable.Range(1, reports.Count).Select(i => (ulong)i), reports.Select(r => r.Sequence));
        Assert.All(reports, r => LoadReportValidator.Validate(r, new StatsOptions()));
        AssertSameCounts(served, reports);
        Assert.Equal(T0.AddSeconds(500), reports[^1].IntervalEnd.ToDateTimeOffset());
    }

    private static List<ReportLoadRequest> Reports(List<ImageLoad> images)
    {
        var pending = new PendingReports(PendingReports.NewEpoch(), 0, [], 360, null, _ => { });
        pending.Add(images, T0, T0.AddSeconds(10));
        var reports = new List<ReportLoadRequest>();
        while (pending.TakeOldest() is { } report)
        {
            reports.Add(report);
            pending.Acknowledge(pending.Epoch, report.Sequence, report.Sequence);
        }
        return reports;
    }

    private static void AssertSameCounts(IEnumerable<ImageLoad> served, IEnumerable<ReportLoadRequest> reports)
    {
        var expected = ReportMerge.Combine(served);
        var counted = ReportMerge.Combine(reports.SelectMany(r => r.Images));
        Assert.Equal(expected.Select(Totals).OrderBy(t => t.Image), counted.Select(Totals).OrderBy(t => t.Image));
        foreach (var image in expected)
        {
            var same = counted.Single(c => c.Image == image.Image);
            Assert.Equal(
                image.Instances.Select(i => (i.InstanceId, i.ReqCount, i.BytesTx, i.Errors4Xx, i.Errors5Xx, string.Join(',', i.Latency.BucketCounts))).OrderBy(i => i.InstanceId),
                same.Instances.Select(i => (i.InstanceId, i.ReqCount, i.BytesTx, i.Errors4Xx, i.Errors5Xx, string.Join(',', i.Latency.BucketCounts))).OrderBy(i => i.InstanceId));
        }
    }

    private static (string Image, long Requests, long Bytes, long Errors4xx, long Errors5xx, string Latency) Totals(ImageLoad image) =>
        (image.Image, image.ReqCount, image.BytesTx, image.Errors4Xx, image.Errors5Xx, string.Join(',', image.Latency.BucketCounts) + "/" + image.Latency.Count);
}
