using ControlPlane.Api.V1;
using ControlPlane.Server.Stats;

namespace ControlPlane.Server.Tests.Stats;

/// <summary>
/// What every <see cref="ILoadStore"/> does, run against each implementation (the embedded store and
/// Redis), on virtual time. Sliding windows: a window is the sum of the 10-second buckets that start
/// inside it, rps_avg is req_count over the window's seconds, and counts leave a window exactly when
/// their bucket does, and the store when the retention has passed. The exactly-once bookkeeping:
/// resends and gaps change nothing, and the epochs a node may keep are bounded per node and in time.
/// </summary>
public abstract class LoadStoreContract : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 10, 0, 0, TimeSpan.Zero);

    private readonly ManualTimeProvider _clock = new(Start);
    private readonly StatsOptions _options = new();
    private readonly LoadBatch _one = LoadReportValidator.Validate(Reports.Report("e", 1, Reports.Image("img.a", 1)), new StatsOptions());
    private ILoadStore? _store;
    private StatsReader? _reader;
    private ulong _sequence;

    /// <summary>The test's store, with default options, created on first use.</summary>
    private ILoadStore Store => _store ??= CreateStore(_options, _clock);

    private StatsReader Reader => _reader ??= new StatsReader(Store, _clock);

    /// <summary>A new, empty store with these options and clock (skips the test when its server is not installed).</summary>
    protected abstract ILoadStore CreateStore(StatsOptions options, TimeProvider clock);

    public virtual void Dispose() => GC.SuppressFinalize(this);

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
        var before = await Store.SumAsync(LoadScope.Images, Start, cut, null).DefaultTimeout();
        var after = await Store.SumAsync(LoadScope.Images, cut, end.AddSeconds(10), null).DefaultTimeout();
        Assert.Equal(total, before.Single().Counts.Requests + after.Single().Counts.Requests);
    }

    [Fact]
    public async Task InstanceStats_AreFilteredByImage_AndOrderedByImageThenInstance()
    {
        await ApplyAsync(Batch("img.b", 4, "i9", "i1"), Batch("img.a", 6, "i3"));

        var all = await Reader.GetInstanceStatsAsync(new GetInstanceStatsRequest { Window = "5m" }, default).DefaultTimeout();
        Assert.Equal([("img.a", "i3", 6L), ("img.b", "i1", 2L), ("img.b", "i9", 2L)], all.Instances.Select(i => (i.Image, i.InstanceId, i.ReqCount)));
        Assert.Equal(6 / 300.0, all.Instances[0].RpsAvg);

        var onlyB = await Reader.GetInstanceStatsAsync(new GetInstanceStatsRequest { Image = "img.b" }, default).DefaultTimeout();
        Assert.Equal(["i1", "i9"], onlyB.Instances.Select(i => i.InstanceId));
        Assert.Equal("1m", onlyB.Window);

        var unknown = await Reader.GetImageStatsAsync(new GetImageStatsRequest { Image = "img.none" }, default).DefaultTimeout();
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
        var everything = await Store.SumAsync(LoadScope.Images, Start.AddDays(-1), _clock.GetUtcNow().AddDays(1), null).DefaultTimeout();
        Assert.Equal(2, everything.Single().Counts.Requests);
    }

    [Fact]
    public async Task ResendsAndGaps_ChangeNothing_AndEveryAnswerNamesTheLastAccepted()
    {
        Assert.Equal(new ReportResult(ReportDisposition.Gap, 0), await ApplyAsync("node-1", "e1", 2));
        Assert.Equal(new ReportResult(ReportDisposition.Accepted, 1), await ApplyAsync("node-1", "e1", 1));
        Assert.Equal(new ReportResult(ReportDisposition.Duplicate, 1), await ApplyAsync("node-1", "e1", 1));
        Assert.Equal(new ReportResult(ReportDisposition.Gap, 1), await ApplyAsync("node-1", "e1", 3));
        Assert.Equal(new ReportResult(ReportDisposition.Accepted, 2), await ApplyAsync("node-1", "e1", 2));
        Assert.Equal(new ReportResult(ReportDisposition.Accepted, 1), await ApplyAsync("node-2", "e1", 1)); // another node: its own sequence
        Assert.Equal(3, (await ImagesAsync("1m")).Images.Single().ReqCount);

        // Read without changing anything: what a replica checks before refusing a resend for its content.
        Assert.Equal(2ul, await Store.LastAcceptedAsync(new ReportKey("node-1", "e1")).DefaultTimeout());
        Assert.Equal(1ul, await Store.LastAcceptedAsync(new ReportKey("node-2", "e1")).DefaultTimeout());
        Assert.Equal(0ul, await Store.LastAcceptedAsync(new ReportKey("node-1", "e2")).DefaultTimeout());
        Assert.Equal(0ul, await Store.LastAcceptedAsync(new ReportKey("node-3", "e1")).DefaultTimeout());
        Assert.Equal(3, (await ImagesAsync("1m")).Images.Single().ReqCount);
    }

    [Fact]
    public async Task SequencesUpTo2Pow64_AreComparedExactly()
    {
        // Beyond 2^53 a double cannot tell neighbours apart: a store must not.
        const ulong Big = ulong.MaxValue - 1;
        Assert.Equal(ReportDisposition.Gap, (await ApplyAsync("node-1", "e1", Big)).Disposition);
        for (ulong s = 1; s <= 3; s++)
        {
            await ApplyAsync("node-1", "e1", s);
        }
        Assert.Equal(new ReportResult(ReportDisposition.Gap, 3), await ApplyAsync("node-1", "e1", (1UL << 60) + 4));
        Assert.Equal(new ReportResult(ReportDisposition.Duplicate, 3), await ApplyAsync("node-1", "e1", 0));
        Assert.Equal(3ul, await Store.LastAcceptedAsync(new ReportKey("node-1", "e1")).DefaultTimeout());
    }

    [Fact]
    public async Task Counts_SaturateInsteadOfOverflowing()
    {
        var huge = LoadReportValidator.Validate(Reports.Report("e", 1, Reports.Image("img.a", 1, bytesPerRequest: 1L << 50)), new StatsOptions());
        var key = new ReportKey("node-1", "e1");
        for (ulong s = 1; s <= 8300; s++)
        {
            Assert.Equal(ReportDisposition.Accepted, (await Store.ApplyAsync(key, s, huge, _clock.GetUtcNow()).DefaultTimeout()).Disposition);
        }
        var total = (await Store.SumAsync(LoadScope.Images, Start.AddMinutes(-1), Start.AddMinutes(1), null).DefaultTimeout()).Single().Counts;
        Assert.Equal(8300, total.Requests);
        Assert.Equal(long.MaxValue, total.BytesTx); // 8300 * 2^50 > 2^63
    }

    [Fact]
    public async Task FullReports_InManyBuckets_SumExactly_EveryInstanceOnce()
    {
        // Reports at the limit (1,000 instance entries), in three buckets: more counted keys than one
        // read of the store takes (Redis reads a few hundred per call), some buckets between them empty.
        var instances = Enumerable.Range(0, 1_000).Select(i => $"i-{i:D4}").ToArray();
        await ApplyAsync(Batch("img.a", 1_800, instances[..600]), Batch("img.b", 800, instances[600..]));
        _clock.Advance(TimeSpan.FromSeconds(40));
        await ApplyAsync(Batch("img.a", 1_200, instances[..600]));
        _clock.Advance(TimeSpan.FromSeconds(10));
        await ApplyAsync(Batch("img.b", 400, instances[600..]));
        _clock.Advance(TimeSpan.FromSeconds(5));

        var all = await Store.SumAsync(LoadScope.Instances, Start.AddMinutes(-1), _clock.GetUtcNow(), null).DefaultTimeout();
        var onlyB = await Store.SumAsync(LoadScope.Instances, Start.AddMinutes(-1), _clock.GetUtcNow(), "img.b").DefaultTimeout();
        var onlyA = await Store.SumAsync(LoadScope.Instances, Start.AddMinutes(-1), _clock.GetUtcNow(), "img.a").DefaultTimeout();
        var images = await Store.SumAsync(LoadScope.Images, Start.AddMinutes(-1), _clock.GetUtcNow(), null).DefaultTimeout();

        Assert.Equal(1_000, all.Count);
        Assert.Equal(instances, all.Select(t => t.InstanceId).Order(StringComparer.Ordinal));
        Assert.All(all.Where(t => t.Image == "img.a"), t => Assert.Equal(5, t.Counts.Requests)); // 3,000 over 600
        Assert.All(all.Where(t => t.Image == "img.b"), t => Assert.Equal(3, t.Counts.Requests)); // 1,200 over 400
        Assert.Equal(3_000 + 1_200, all.Sum(t => t.Counts.Requests));
        Assert.Equal(400, onlyB.Count);
        Assert.Equal(1_200, onlyB.Sum(t => t.Counts.Requests));
        Assert.Equal(instances[..600], onlyA.Select(t => t.InstanceId));
        Assert.Equal(3_000, onlyA.Sum(t => t.Counts.Requests));
        Assert.Equal([("img.a", 3_000L), ("img.b", 1_200L)], images.Select(t => (t.Image, t.Counts.Requests)));
    }

    [Fact]
    public async Task AnEpochIdleLongerThanTheRetention_IsForgotten_SoItsNextReportIsAGapFromZero()
    {
        var store = new OwnedStore(this, new StatsOptions { MaxEpochsPerNode = 2, EpochRetention = TimeSpan.FromHours(1) });
        await store.ExpectAsync("node-1", "e1", 1, ReportDisposition.Accepted, 1);
        _clock.Advance(TimeSpan.FromMinutes(59));
        await store.ExpectAsync("node-1", "e1", 2, ReportDisposition.Accepted, 2); // in use: remembered
        _clock.Advance(TimeSpan.FromMinutes(61));
        await store.ExpectAsync("node-1", "other", 1, ReportDisposition.Accepted, 1);

        await store.ExpectAsync("node-1", "e1", 3, ReportDisposition.Gap, 0);
    }

    [Fact]
    public async Task ANodeKeepsAtMostItsEpochLimit_TheLeastRecentlyUsedGoesFirst()
    {
        var store = new OwnedStore(this, new StatsOptions { MaxEpochsPerNode = 2, EpochRetention = TimeSpan.FromHours(1) });
        await store.ExpectAsync("node-1", "a", 1, ReportDisposition.Accepted, 1);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await store.ExpectAsync("node-1", "b", 1, ReportDisposition.Accepted, 1);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await store.ExpectAsync("node-1", "a", 1, ReportDisposition.Duplicate, 1); // "a" used again
        _clock.Advance(TimeSpan.FromSeconds(1));
        await store.ExpectAsync("node-1", "c", 1, ReportDisposition.Accepted, 1); // evicts "b"
        await store.ExpectAsync("node-2", "x", 1, ReportDisposition.Accepted, 1); // other nodes have their own limit

        await store.ExpectAsync("node-1", "a", 2, ReportDisposition.Accepted, 2);
        await store.ExpectAsync("node-1", "b", 2, ReportDisposition.Gap, 0);
    }

    /// <summary>A store of the test's own options, on the test's clock.</summary>
    private sealed class OwnedStore(LoadStoreContract test, StatsOptions options)
    {
        private readonly ILoadStore _store = test.CreateStore(options, test._clock);

        public async Task ExpectAsync(string node, string epoch, ulong sequence, ReportDisposition expected, ulong lastAccepted)
        {
            var result = await _store.ApplyAsync(new ReportKey(node, epoch), sequence, test._one, test._clock.GetUtcNow()).DefaultTimeout();
            Assert.Equal(new ReportResult(expected, lastAccepted), result);
        }
    }

    private Task<ReportResult> ApplyAsync(string node, string epoch, ulong sequence) =>
        Store.ApplyAsync(new ReportKey(node, epoch), sequence, _one, _clock.GetUtcNow()).DefaultTimeout();

    private Task<GetImageStatsResponse> ImagesAsync(string window) =>
        Reader.GetImageStatsAsync(new GetImageStatsRequest { Window = window }, default).DefaultTimeout();

    private async Task ApplyAsync(params LoadBatch[] batches)
    {
        foreach (var batch in batches)
        {
            var result = await Store.ApplyAsync(new ReportKey("node-1", "e1"), ++_sequence, batch, _clock.GetUtcNow()).DefaultTimeout();
            Assert.Equal(ReportDisposition.Accepted, result.Disposition);
        }
    }

    /// <summary>A validated report of <paramref name="requests"/> to <paramref name="image"/>, spread evenly over <paramref name="instances"/>.</summary>
    protected static LoadBatch Batch(string image, long requests, params string[] instances) => Batch(image, requests, 0.004, instances);

    private static LoadBatch Batch(string image, long requests, double latencySeconds, params string[] instances)
    {
        var report = Reports.Report("e1", 1, Reports.Image(image, requests, latencySeconds: latencySeconds, instances: instances));
        return LoadReportValidator.Validate(report, new StatsOptions());
    }
}
