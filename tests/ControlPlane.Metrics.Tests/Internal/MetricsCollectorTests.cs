using System.Diagnostics.Metrics;
using ControlPlane.Metrics.Internal;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Metrics.Tests.Internal;

public sealed class MetricsCollectorTests
{
    [Fact]
    public void Histogram_BucketsAreCumulative_BoundsInclusive_InfEqualsCount()
    {
        using var t = new TestCollector();
        var histogram = t.Meter.CreateHistogram<double>("work.duration", "s", "Work.");
        foreach (var v in new[] { 0.003, 0.005, 0.04, 0.7, 0.7, 30.0 })
        {
            histogram.Record(v, new KeyValuePair<string, object?>("kind", "a"));
        }

        var scrape = t.Scrape();

        Assert.Contains("# TYPE work_duration_seconds histogram\n", scrape);
        Assert.Equal(
        [
            "work_duration_seconds_bucket{kind=\"a\",le=\"0.005\"} 2",
            "work_duration_seconds_bucket{kind=\"a\",le=\"0.01\"} 2",
            "work_duration_seconds_bucket{kind=\"a\",le=\"0.025\"} 2",
            "work_duration_seconds_bucket{kind=\"a\",le=\"0.05\"} 3",
            "work_duration_seconds_bucket{kind=\"a\",le=\"0.1\"} 3",
            "work_duration_seconds_bucket{kind=\"a\",le=\"0.25\"} 3",
            "work_duration_seconds_bucket{kind=\"a\",le=\"0.5\"} 3",
            "work_duration_seconds_bucket{kind=\"a\",le=\"1\"} 5",
            "work_duration_seconds_bucket{kind=\"a\",le=\"2.5\"} 5",
            "work_duration_seconds_bucket{kind=\"a\",le=\"5\"} 5",
            "work_duration_seconds_bucket{kind=\"a\",le=\"10\"} 5",
            "work_duration_seconds_bucket{kind=\"a\",le=\"+Inf\"} 6",
        ], TestCollector.Lines(scrape, "work_duration_seconds_bucket"));
        Assert.Equal(["work_duration_seconds_sum{kind=\"a\"} 31.448"], TestCollector.Lines(scrape, "work_duration_seconds_sum"));
        Assert.Equal(["work_duration_seconds_count{kind=\"a\"} 6"], TestCollector.Lines(scrape, "work_duration_seconds_count"));
    }

    [Fact]
    public void Histogram_HonoursBucketAdvice_AndDropsNaN()
    {
        using var t = new TestCollector();
        var histogram = t.Meter.CreateHistogram("sizes", "By", null, null, new InstrumentAdvice<long> { HistogramBucketBoundaries = [100, 1000] });
        histogram.Record(100);
        histogram.Record(5000);
        var floats = t.Meter.CreateHistogram<double>("ratios");
        floats.Record(double.NaN);
        floats.Record(0.2);

        var scrape = t.Scrape();

        Assert.Equal(["sizes_bytes_bucket{le=\"100\"} 1", "sizes_bytes_bucket{le=\"1000\"} 1", "sizes_bytes_bucket{le=\"+Inf\"} 2"], TestCollector.Lines(scrape, "sizes_bytes_bucket"));
        Assert.Equal(["sizes_bytes_sum 5100"], TestCollector.Lines(scrape, "sizes_bytes_sum"));
        Assert.Equal(["ratios_count 1"], TestCollector.Lines(scrape, "ratios_count"));
        Assert.Equal(["ratios_sum 0.2"], TestCollector.Lines(scrape, "ratios_sum"));
    }

    [Fact]
    public void Milliseconds_AreExportedAsSeconds_WithTheAdviceConvertedToo()
    {
        using var t = new TestCollector();
        var advised = t.Meter.CreateHistogram("lookup.time", "ms", null, null, new InstrumentAdvice<double> { HistogramBucketBoundaries = [1, 250, 1000] });
        advised.Record(250);
        advised.Record(1500);
        t.Meter.CreateCounter<long>("busy.time", "ms").Add(1500);

        var scrape = t.Scrape();

        Assert.Equal(
            ["lookup_time_seconds_bucket{le=\"0.001\"} 0", "lookup_time_seconds_bucket{le=\"0.25\"} 1", "lookup_time_seconds_bucket{le=\"1\"} 1", "lookup_time_seconds_bucket{le=\"+Inf\"} 2"],
            TestCollector.Lines(scrape, "lookup_time_seconds_bucket"));
        Assert.Equal(["lookup_time_seconds_sum 1.75"], TestCollector.Lines(scrape, "lookup_time_seconds_sum"));
        Assert.Equal(["busy_time_seconds_total 1.5"], TestCollector.Lines(scrape, "busy_time_seconds_total"));
    }

    [Fact]
    public void Counters_IgnoreNegativeIncrements_UpDownCountersAndGaugesAreGauges()
    {
        using var t = new TestCollector();
        var counter = t.Meter.CreateCounter<long>("jobs");
        counter.Add(5);
        counter.Add(-3);
        var upDown = t.Meter.CreateUpDownCounter<long>("jobs.running", "{job}");
        upDown.Add(5);
        upDown.Add(-3);
        var gauge = t.Meter.CreateGauge<double>("temperature", "Cel");
        gauge.Record(21.5);
        gauge.Record(19);

        var scrape = t.Scrape();

        Assert.Contains("# TYPE jobs_total counter\njobs_total 5\n", scrape);
        Assert.Contains("# TYPE jobs_running gauge\njobs_running 2\n", scrape);
        Assert.Contains("# TYPE temperature_celsius gauge\ntemperature_celsius 19\n", scrape);
    }

    [Fact]
    public void ObservableInstruments_AreAskedAtScrapeTime_AndSeriesTheyStopReportingDisappear()
    {
        using var t = new TestCollector();
        var calls = 0;
        var queues = new Dictionary<string, int> { ["a"] = 3, ["b"] = 4 };
        t.Meter.CreateObservableUpDownCounter("queue.depth", () =>
        {
            calls++;
            return queues.Select(q => new Measurement<int>(q.Value, new KeyValuePair<string, object?>("queue", q.Key))).ToArray();
        }, "{item}");
        t.Meter.CreateObservableCounter("uptime", () => 12.5 + calls, "s");
        t.Meter.CreateObservableGauge("load", () => 0.75);

        var first = t.Scrape();
        Assert.Equal(1, calls);
        Assert.Equal(["queue_depth{queue=\"a\"} 3", "queue_depth{queue=\"b\"} 4"], TestCollector.Lines(first, "queue_depth"));
        Assert.Contains("# TYPE uptime_seconds_total counter\nuptime_seconds_total 13.5\n", first);
        Assert.Contains("# TYPE load gauge\nload 0.75\n", first);

        queues.Remove("a");
        queues["b"] = 1;
        var second = t.Scrape();
        Assert.Equal(2, calls);
        Assert.Equal(["queue_depth{queue=\"b\"} 1"], TestCollector.Lines(second, "queue_depth"));
    }

    [Fact]
    public void AFailingObservableCallback_DoesNotFailTheScrape()
    {
        using var t = new TestCollector();
        t.Meter.CreateObservableGauge("broken", new Func<int>(() => throw new InvalidOperationException("boom")));
        t.Meter.CreateObservableGauge("fine", () => 1);

        var scrape = t.Scrape();

        Assert.Contains("fine 1\n", scrape);
        Assert.DoesNotContain("broken", scrape);
    }

    [Fact]
    public void InstrumentsWithoutMeasurements_AreLeftOut_AndADisposedMetersFamiliesGo()
    {
        using var t = new TestCollector();
        t.Meter.CreateCounter<int>("never.used");
        using var second = new Meter(t.MeterName);
        second.CreateCounter<int>("short.lived").Add(1);
        Assert.Contains("short_lived_total 1\n", t.Scrape());

        second.Dispose();

        var scrape = t.Scrape();
        Assert.DoesNotContain("short_lived", scrape);
        Assert.DoesNotContain("never_used", scrape);
    }

    [Fact]
    public void SameNameInTwoMeters_AddsCountersAndHistograms_GaugesKeepTheFirst_AnotherTypeIsRefused()
    {
        using var t = new TestCollector();
        using var other = new Meter(t.MeterName);
        t.Meter.CreateCounter<int>("hits").Add(2);
        other.CreateCounter<int>("hits").Add(3);
        t.Meter.CreateHistogram<double>("lat", "s").Record(0.2);
        other.CreateHistogram<double>("lat", "s").Record(7);
        t.Meter.CreateGauge<int>("level").Record(1);
        other.CreateGauge<int>("level").Record(2);
        other.CreateGauge<int>("hits_total").Record(99);

        var scrape = t.Scrape();

        Assert.Equal(["hits_total 5"], TestCollector.Lines(scrape, "hits_total"));
        Assert.Single(scrape.Split('\n'), l => l == "# TYPE hits_total counter");
        Assert.Equal(["lat_seconds_count 2"], TestCollector.Lines(scrape, "lat_seconds_count"));
        Assert.Equal(["level 1"], TestCollector.Lines(scrape, "level"));
    }

    [Fact]
    public void OnlyConfiguredMeters_AreExported_ByNameOrPrefix()
    {
        var prefix = "Prefix." + Guid.NewGuid().ToString("N");
        using var t = new TestCollector(o => o.Meters.Add(prefix + ".*"));
        using var matched = new Meter(prefix + ".Inner");
        using var unmatched = new Meter(prefix + "Sibling");
        t.Meter.CreateCounter<int>("exact").Add(1);
        matched.CreateCounter<int>("by.prefix").Add(1);
        unmatched.CreateCounter<int>("not.matched").Add(1);

        var scrape = t.Scrape();

        Assert.Contains("exact_total 1\n", scrape);
        Assert.Contains("by_prefix_total 1\n", scrape);
        Assert.DoesNotContain("not_matched", scrape);
    }

    [Fact]
    public void MetersOfAnotherContainer_AreNotExported()
    {
        using var t = new TestCollector();
        using var otherServices = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var ours = t.MeterFactory.Create(new MeterOptions(t.MeterName));
        var theirs = otherServices.GetRequiredService<IMeterFactory>().Create(new MeterOptions(t.MeterName));
        ours.CreateCounter<int>("ours").Add(1);
        theirs.CreateCounter<int>("theirs").Add(1);

        var scrape = t.Scrape();

        Assert.Contains("ours_total 1\n", scrape);
        Assert.DoesNotContain("theirs", scrape);
    }

    [Fact]
    public void TooManyLabelSets_OverflowIntoOneSeries()
    {
        using var t = new TestCollector();
        var counter = t.Meter.CreateCounter<int>("users");
        for (var i = 0; i < SeriesTable.MaxSeries + 10; i++)
        {
            counter.Add(1, new KeyValuePair<string, object?>("user", i));
        }
        counter.Add(1, new KeyValuePair<string, object?>("user", 0));

        var lines = TestCollector.Lines(t.Scrape(), "users_total");

        Assert.Equal(SeriesTable.MaxSeries + 1, lines.Length);
        Assert.Contains("users_total{user=\"0\"} 2", lines);
        Assert.Contains("users_total{otel_metric_overflow=\"true\"} 10", lines);
    }

    [Fact]
    public void ProcessStartTime_IsAGaugeInUnixSeconds()
    {
        using var t = new TestCollector(o => o.ExportProcessStartTime = true);

        var line = Assert.Single(TestCollector.Lines(t.Scrape(), "process_start_time_seconds"));

        var value = double.Parse(line.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var start = DateTimeOffset.FromUnixTimeMilliseconds((long)(value * 1000));
        Assert.InRange(start, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow);
        Assert.Contains("# TYPE process_start_time_seconds gauge\n", t.Scrape());
    }

    [Fact]
    public void DefaultBuckets_MustBeStrictlyIncreasing()
    {
        Assert.Throws<ArgumentException>(() => new TestCollector(o => o.DefaultHistogramBuckets = [1, 0.5]));
    }
}
