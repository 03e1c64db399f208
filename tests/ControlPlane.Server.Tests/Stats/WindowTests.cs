using ControlPlane.Api.V1;
using ControlPlane.Server.Stats;

namespace ControlPlane.Server.Tests.Stats;

/// <summary>
/// Sliding windows on virtual time: a window is the sum of the 10-second buckets that start inside
/// it, rps_avg is req_count over the window's seconds, and counts leave a window exactly when their
/// bucket does, and the store when the retention has passed.
/// </summary>
public sealed class WindowTests
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 10, 0, 0, TimeSpan.Zero);

    private readonly ManualTimeProvider _clock = new(Start);
    private readonly StatsOptions _options = new();
    private readonly InMemoryLoadStore _store;
    private readonly StatsReader _reader;
    private ulong _sequence;

    public WindowTests()
    {
        _store = new InMemoryLoadStore(_options, _clock);
        _reader = new StatsReader(_store, _clock);
    }

    [Fact]
    public async Task Windows_SumTheirBuckets_AndRpsIsCountOverWindowSeconds()
    {
        await ApplyAsync(Batch("img.a", 600));                // 10:00:00
        _clock.Advance(TimeSpan.FromMinutes(2));
        await ApplyAsync(Batch("img.a", 120));                // 10:02:00
        _clock.Advance(TimeSpan.FromSeconds(30));
        await ApplyAsync(Batch("img.a", 30), Batch("img.b", 6)); // 10:02:30, two reports
        _clock.Advance(TimeSpan.FromSeconds(5));             // now 10:02:35

        var oneMinute = await ImagesAsync("1m");
        Assert.Equal([("img.a", 150L), ("img.b", 6L)], oneMinute.Images.Select(i => (i.Image, i.ReqCount)));
        Assert.Equal(150 / 60.0, oneMinute.Images[0].RpsAvg);
        Assert.Equal(6 / 60.0, oneMinute.Images[1].RpsAvg);
        Assert.Equal("1m", oneMinute.Window);
        Assert.Equal(_clock.GetUtcNow(), oneMinute.WindowEnd.ToDateTimeOffset());

        var fiveMinutes = await ImagesAsync("5m");
        Assert.Equal(750, fiveMinutes.Images.Single(i => i.Image == "img.a").ReqCount);
        Assert.Equal(750 / 300.0, fiveMinutes.Images.Single(i => i.Image == "img.a").RpsAvg);
        Assert.Equal(75000, fiveMinutes.Images.Single(i => i.Image == "img.a").BytesTx);

        var oneHour = await ImagesAsync("1h");
        Assert.Equal(750 / 3600.0, oneHour.Images.Single(i => i.Image == "img.a").RpsAvg);

        // Empty window name: 1m.
        Assert.Equal("1m", (await ImagesAsync("")).Window);
    }

    [Fact]
    public async Task CountsLeaveAWindow_WhenTheirBucketNoLongerStartsInsideIt()
    {
        _clock.Advance(TimeSpan.FromSeconds(5));   // 10:00:05, in the bucket that starts at 10:00:00
        await ApplyAsync(Batch("img.a", 10));

        _clock.Advance(TimeSpan.FromSeconds(54));  // 10:00:59: (09:59:59, 10:00:59] holds that bucket
        Assert.Equal(10, (await ImagesAsync("1m")).Images.Single().ReqCount);

        _clock.Advance(TimeSpan.FromSeconds(1));   // 10:01:00: (10:00:00, 10:01:00] no longer does
        Assert.Empty((await ImagesAsync("1m")).Images);
        Assert.Equal(10, (await ImagesAsync("5m")).Images.Single().ReqCount);

        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Empty((await ImagesAsync("1h")).Images);
    }

    [Fact]
    public async Task WhatWasAcceptedThisInstant_IsInView()
    {
        await ApplyAsync(Batch("img.a", 3)); // exactly on a bucket edge, at "now"
        Assert.Equal(3, (await ImagesAsync("1m")).Images.Single().ReqCount);
    }

    [Fact]
    public async Task AdjacentWindows_ShareNoBucket_AndMissNone()
    {
        for (var i = 0; i < 360; i++)
        {
            await ApplyAsync(Batch("img.a", i + 1));
            _clock.Advance(TimeSpan.FromSeconds(7)); // reports at uneven times, across bucket edges
        }
        var total = 360L * 361 / 2;
        var cut = Start.AddMinutes(20);
        var end = _clock.GetUtcNow();
        var before = await _store.SumAsync(LoadScope.Images, Start, cut, null).DefaultTimeout();
        var after = await _store.SumAsync(LoadScope.Images, cut, end.AddSeconds(10), null).DefaultTimeout();
        Assert.Equal(total, before.Single().Counts.Requests + after.Single().Counts.Requests);
    }

    [Fact]
    public async Task InstanceStats_AreFilteredByImage_AndOrderedByImageThenInstance()
    {
        await ApplyAsync(Batch("img.b", 4, "i9", "i1"), Batch("img.a", 6, "i3"));

        var all = await _reader.GetInstanceStatsAsync(new GetInstanceStatsRequest { Window = "5m" }, default).DefaultTimeout();
        Assert.Equal([("img.a", "i3", 6L), ("img.b", "i1", 2L), ("img.b", "i9", 2L)], all.Instances.Select(i => (i.Image, i.InstanceId, i.ReqCount)));
        Assert.Equal(6 / 300.0, all.Instances[0].RpsAvg);

        var onlyB = await _reader.GetInstanceStatsAsync(new GetInstanceStatsRequest { Image = "img.b" }, default).DefaultTimeout();
        Assert.Equal(["i1", "i9"], onlyB.Instances.Select(i => i.InstanceId));
        Assert.Equal("1m", onlyB.Window);

        var unknown = await _reader.GetImageStatsAsync(new GetImageStatsRequest { Image = "img.none" }, default).DefaultTimeout();
        Assert.Empty(unknown.Images);
    }

    [Fact]
    public async Task LatencyPercentiles_AreInterpolatedInsideTheirBuckets()
    {
        // 90 requests in (5 ms, 10 ms], 10 in (250 ms, 500 ms].
        var fast = Batch("img.a", 90, latencySeconds: 0.008);
        var slow = Batch("img.a", 10, latencySeconds: 0.3);
        await ApplyAsync(fast, slow);

        var stats = (await ImagesAsync("1m")).Images.Single();
        Assert.Equal(5 + 5 * (50.0 / 90), stats.LatencyP50Ms, 6);
        Assert.Equal(250 + 250 * (5.0 / 10), stats.LatencyP95Ms, 6);
        Assert.Equal(250 + 250 * (9.0 / 10), stats.LatencyP99Ms, 6);
    }

    [Fact]
    public async Task OldBuckets_AreDroppedAfterTheRetention()
    {
        await ApplyAsync(Batch("img.a", 1));
        _clock.Advance(_options.Retention + StatsOptions.BucketWidth);
        await ApplyAsync(Batch("img.a", 2));
        var everything = await _store.SumAsync(LoadScope.Images, Start.AddDays(-1), _clock.GetUtcNow().AddDays(1), null).DefaultTimeout();
        Assert.Equal(2, everything.Single().Counts.Requests);
    }

    private Task<GetImageStatsResponse> ImagesAsync(string window) =>
        _reader.GetImageStatsAsync(new GetImageStatsRequest { Window = window }, default).DefaultTimeout();

    private async Task ApplyAsync(params LoadBatch[] batches)
    {
        foreach (var batch in batches)
        {
            var result = await _store.ApplyAsync(new ReportKey("node-1", "e1"), ++_sequence, batch, _clock.GetUtcNow()).DefaultTimeout();
            Assert.Equal(ReportDisposition.Accepted, result.Disposition);
        }
    }

    private static LoadBatch Batch(string image, long requests, params string[] instances) => Batch(image, requests, 0.004, instances);

    private static LoadBatch Batch(string image, long requests, double latencySeconds, params string[] instances)
    {
        var report = Reports.Report("e1", 1, Reports.Image(image, requests, latencySeconds: latencySeconds, instances: instances));
        return LoadReportValidator.Validate(report, new StatsOptions());
    }
}
