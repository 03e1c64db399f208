using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Server.Stats;
using static ControlPlane.Server.Tests.Stats.Reports;

namespace ControlPlane.Server.Tests.Stats;

/// <summary>
/// Reports that are wrong, huge or hostile end the stream with a clear INVALID_ARGUMENT naming the
/// fields, and nothing of them is counted, not even the parts that were fine.
/// </summary>
public sealed class HostileReportTests
{
    public static TheoryData<string, string> Broken => new()
    {
        { "no epoch", "epoch" },
        { "epoch with a space", "epoch" },
        { "sequence 0", "sequence" },
        { "no interval", "interval_start" },
        { "interval ends before it starts", "interval_end" },
        { "negative req_count", "images[1].req_count" },
        { "errors above req_count", "images[1]" },
        { "image twice", "images[1].image" },
        { "image with a slash at the end", "images[1].image" },
        { "instance id with a space", "images[1].instances[0].instance_id" },
        { "instances forward more than the image served", "images[1].instances" },
        { "histogram count differs from req_count", "images[1].latency.count" },
        { "histogram bounds not increasing", "images[1].latency.bounds_seconds" },
        { "histogram with NaN bound", "images[1].latency.bounds_seconds" },
        { "histogram bucket count mismatch", "images[1].latency.bucket_counts" },
        { "bytes above a petabyte", "images[1].bytes_tx" },
    };

    [Theory]
    [MemberData(nameof(Broken))]
    public async Task BrokenReport_IsRefusedWithTheField_AndNothingIsCounted(string what, string field)
    {
        await using var host = await StatsHost.StartAsync();
        using var stream = host.OpenReportStream();
        var report = Report("e1", 1, Image("img.ok", 5), Image("img.a", 10, instances: ["i1"]));
        Break(report, what);

        await stream.WriteAsync(report);
        var status = await stream.WaitForEndAsync();

        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Equal("invalid_request", status.Reason());
        Assert.Contains(field, status.FieldViolations().Select(v => v.Field));
        await AssertNothingCountedAsync(host);
        Assert.Contains("controlplane_stats_load_reports_total{result=\"invalid\"} 1", await host.MetricsAsync(), StringComparison.Ordinal);
        // The refusal is logged (a warning, with the node and why), never the report itself.
        Assert.Contains(host.Logs.Entries, e => e.GetProperty("level").GetString() == "warn" && e.GetProperty("message").GetString()!.Contains("node-1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task FirstReportWithoutANode_IsRefused()
    {
        await using var host = await StatsHost.StartAsync();
        using var stream = host.OpenReportStream();
        var report = Report("e1", 1, Image("img.a", 1));
        report.Node = new Node();
        await stream.WriteAsync(report);

        var status = await stream.WaitForEndAsync();
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Equal(["node.id"], status.FieldViolations().Select(v => v.Field));
        await AssertNothingCountedAsync(host);
    }

    [Fact]
    public async Task ALaterReportNamingAnotherNode_IsRefused_AndOnlyEarlierReportsStayCounted()
    {
        await using var host = await StatsHost.StartAsync();
        using var stream = host.OpenReportStream("node-1");
        await stream.SendAsync(Report("e1", 1, Image("img.a", 3)));
        var other = Report("e1", 2, Image("img.a", 100));
        other.Node = new Node { Id = "node-2" };
        await stream.WriteAsync(other);

        var status = await stream.WaitForEndAsync();
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Equal(["node.id"], status.FieldViolations().Select(v => v.Field));
        var totals = await host.Store.SumAsync(LoadScope.Images, DateTimeOffset.MinValue.AddYears(1), DateTimeOffset.MaxValue.AddYears(-1), null).DefaultTimeout();
        Assert.Equal(3, totals.Single().Counts.Requests);
    }

    [Fact]
    public async Task TooManyImages_IsRefusedWithoutListingEachOne()
    {
        await using var host = await StatsHost.StartAsync(null, "--ControlPlane:Stats:MaxImagesPerReport=100");
        using var stream = host.OpenReportStream();
        var report = Report("e1", 1, [.. Enumerable.Range(0, 101).Select(i => Image($"img.{i}", 1))]);
        await stream.WriteAsync(report);

        var status = await stream.WaitForEndAsync();
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Equal(["images"], status.FieldViolations().Select(v => v.Field));
        await AssertNothingCountedAsync(host);
    }

    [Fact]
    public async Task HundredsOfBadEntries_GiveABoundedError()
    {
        await using var host = await StatsHost.StartAsync();
        using var stream = host.OpenReportStream();
        var report = Report("e1", 1, [.. Enumerable.Range(0, 900).Select(i => Image($"img.{i}", -1))]);
        await stream.WriteAsync(report);

        var status = await stream.WaitForEndAsync();
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        Assert.Equal(LoadReportValidator.MaxViolations, status.FieldViolations().Count);
        Assert.StartsWith("more than 20 invalid fields", status.Detail, StringComparison.Ordinal);
        await AssertNothingCountedAsync(host);
    }

    [Fact]
    public async Task MoreInstanceEntriesThanTheDefaultLimit_AreRefused_SoNoReportHoldsTheStoreLong()
    {
        await using var host = await StatsHost.StartAsync();
        using var stream = host.OpenReportStream();
        var instances = Enumerable.Range(0, 1_001).Select(i => $"i-{i:D4}").ToArray();
        var report = Report("e1", 1, Image("img.a", 600, instances: instances[..600]), Image("img.b", 401, instances: instances[600..]));
        await stream.WriteAsync(report);

        var status = await stream.WaitForEndAsync();
        Assert.Equal(StatusCode.InvalidArgument, status.StatusCode);
        var violation = Assert.Single(status.FieldViolations());
        Assert.Equal(("images", "holds 1001 instance entries; at most 1000"), (violation.Field, violation.Description));
        await AssertNothingCountedAsync(host);
    }

    [Fact]
    public async Task OversizedReport_IsRefusedByTheMessageLimit_AndNothingIsCounted()
    {
        await using var host = await StatsHost.StartAsync();
        using var stream = host.OpenReportStream();
        // Over the gRPC server's 4 MiB receive limit.
        var report = Report("e1", 1, Image("img." + new string('x', 240), 1));
        for (var i = 0; i < 40_000; i++)
        {
            report.Images[0].Instances.Add(new InstanceLoad { InstanceId = $"instance-{i:D6}-" + new string('y', 100) });
        }
        Assert.True(report.CalculateSize() > 4 * 1024 * 1024);

        try
        {
            await stream.WriteAsync(report);
        }
        catch (RpcException)
        {
            // The server may end the call while the client is still sending it.
        }
        var status = await stream.WaitForEndAsync();
        Assert.Equal(StatusCode.ResourceExhausted, status.StatusCode);
        await AssertNothingCountedAsync(host);
    }

    private static void Break(ReportLoadRequest report, string what)
    {
        var image = report.Images[1];
        switch (what)
        {
            case "no epoch": report.Epoch = ""; break;
            case "epoch with a space": report.Epoch = "e 1"; break;
            case "sequence 0": report.Sequence = 0; break;
            case "no interval": report.IntervalStart = null; break;
            case "interval ends before it starts": report.IntervalEnd = report.IntervalStart; break;
            case "negative req_count": image.ReqCount = -1; break;
            case "errors above req_count": image.Errors4Xx = 6; image.Errors5Xx = 5; break;
            case "image twice": image.Image = "img.ok"; break;
            case "image with a slash at the end": image.Image = "img.a/"; break;
            case "instance id with a space": image.Instances[0].InstanceId = "i 1"; break;
            case "instances forward more than the image served": image.Instances[0].ReqCount = 11; image.Instances[0].Latency = Histogram(11, 0.004); break;
            case "histogram count differs from req_count": image.Latency.Count = 9; image.Latency.BucketCounts[2] = 9; break;
            case "histogram bounds not increasing": image.Latency.BoundsSeconds[3] = image.Latency.BoundsSeconds[2]; break;
            case "histogram with NaN bound": image.Latency.BoundsSeconds[0] = double.NaN; break;
            case "histogram bucket count mismatch": image.Latency.BucketCounts.RemoveAt(0); break;
            case "bytes above a petabyte": image.BytesTx = (1L << 50) + 1; break;
            default: throw new ArgumentException(what);
        }
    }

    private static async Task AssertNothingCountedAsync(StatsHost host)
    {
        var totals = await host.Store.SumAsync(LoadScope.Images, DateTimeOffset.MinValue.AddYears(1), DateTimeOffset.MaxValue.AddYears(-1), null).DefaultTimeout();
        Assert.Empty(totals);
        // The sequence was not taken either: the same report, fixed, is accepted as the first.
        using var retry = host.OpenReportStream();
        Assert.Equal(1ul, (await retry.SendAsync(Report("e1", 1))).AckedSequence);
    }
}
