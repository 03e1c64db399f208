using System.Diagnostics.Metrics;
using System.Globalization;

namespace ControlPlane.Metrics.Tests.Internal;

public sealed class ConcurrencyTests
{
    private const int Threads = 8;
    private const int PerThread = 20_000;

    [Fact]
    public async Task ManyThreadsRecording_WhileScraping_GiveExactTotals_AndConsistentHistograms()
    {
        using var t = new TestCollector();
        var counter = t.Meter.CreateCounter<long>("ops");
        var fractional = t.Meter.CreateCounter<double>("work", "s");
        var histogram = t.Meter.CreateHistogram<double>("op.duration", "s");
        using var start = new Barrier(Threads + 1);
        var workers = Enumerable.Range(0, Threads).Select(thread => Task.Factory.StartNew(() =>
        {
            var shard = new KeyValuePair<string, object?>("shard", thread % 3);
            Assert.True(start.SignalAndWait(TaskTimeoutExtensions.Timeout), "the other workers never started");
            for (var i = 0; i < PerThread; i++)
            {
                counter.Add(1, shard);
                fractional.Add(0.5);
                histogram.Record(i % 2 == 0 ? 0.004 : 3, shard);
            }
        }, TaskCreationOptions.LongRunning)).ToArray();

        Assert.True(start.SignalAndWait(TaskTimeoutExtensions.Timeout), "the workers never started");
        var scrapes = 0;
        var scraping = System.Diagnostics.Stopwatch.StartNew();
        while (!workers.All(w => w.IsCompleted) && scraping.Elapsed < TaskTimeoutExtensions.Timeout)
        {
            AssertHistogramsConsistent(t.Scrape());
            scrapes++;
        }
        await Task.WhenAll(workers).DefaultTimeout();

        var final = t.Scrape();
        AssertHistogramsConsistent(final);
        var perShard = new[] { 3, 3, 2 }.Select(threads => threads * PerThread).ToArray();
        Assert.Equal(
            ["ops_total{shard=\"0\"} " + perShard[0], "ops_total{shard=\"1\"} " + perShard[1], "ops_total{shard=\"2\"} " + perShard[2]],
            TestCollector.Lines(final, "ops_total").Order());
        Assert.Equal(["work_seconds_total " + (Threads * PerThread / 2)], TestCollector.Lines(final, "work_seconds_total"));
        Assert.Contains($"op_duration_seconds_bucket{{shard=\"0\",le=\"0.005\"}} {perShard[0] / 2}\n", final);
        Assert.Contains($"op_duration_seconds_count{{shard=\"0\"}} {perShard[0]}\n", final);
        Assert.True(scrapes > 0);
    }

    [Fact]
    public void RecordingIntoAnExistingSeries_AllocatesNothing()
    {
        using var t = new TestCollector();
        var counter = t.Meter.CreateCounter<long>("calls");
        var histogram = t.Meter.CreateHistogram<double>("latency", "s");
        KeyValuePair<string, object?> service = new("service", "Registry"), method = new("method", "Register"), code = new("code", "OK");
        counter.Add(1, service, method, code);
        histogram.Record(0.01, service, method, code);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            counter.Add(1, service, method, code);
            histogram.Record(0.01, service, method, code);
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);
        Assert.Contains("calls_total{code=\"OK\",method=\"Register\",service=\"Registry\"} 10001\n", t.Scrape());
    }

    /// <summary>Every histogram in a scrape: buckets never decrease, and +Inf equals _count (exposition format).</summary>
    private static void AssertHistogramsConsistent(string scrape)
    {
        long previous = -1;
        string? series = null;
        foreach (var line in scrape.Split('\n').Where(l => l.StartsWith("op_duration_seconds_", StringComparison.Ordinal) && !l.StartsWith("op_duration_seconds_sum", StringComparison.Ordinal)))
        {
            var value = long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            if (line.StartsWith("op_duration_seconds_bucket", StringComparison.Ordinal))
            {
                var labels = line[..line.IndexOf(",le=", StringComparison.Ordinal)];
                if (labels != series)
                {
                    series = labels;
                    previous = -1;
                }
                Assert.True(value >= previous, line);
                previous = value;
            }
            else if (line.StartsWith("op_duration_seconds_count", StringComparison.Ordinal))
            {
                Assert.Equal(previous, value);
            }
        }
    }
}
