using ControlPlane.Dataplane.Reporting;

namespace ControlPlane.Dataplane.Tests.Reporting;

/// <summary>The recorder counts every request once, in exactly one interval, under concurrency, without locks.</summary>
public sealed class LoadRecorderTests
{
    [Fact]
    public void Requests_AreCountedPerImage_AndPerInstanceOnlyWhenForwarded()
    {
        var recorder = new LoadRecorder();
        recorder.Record("img.a", "i1", 200, 100, TimeSpan.FromMilliseconds(3));
        recorder.Record("img.a", "i1", 404, 20, TimeSpan.FromMilliseconds(30));
        recorder.Record("img.a", "i2", 502, 60, TimeSpan.FromSeconds(90)); // a failed upstream, slower than every bound
        recorder.Record("img.a", null, 503, 70, TimeSpan.FromMilliseconds(1)); // the node's own answer: no instance
        recorder.Record("_unknown", null, 404, 50, TimeSpan.Zero);

        var loads = recorder.Collect().ToImageLoads();

        Assert.Equal(["_unknown", "img.a"], loads.Select(l => l.Image));
        var a = loads[1];
        Assert.Equal((4L, 250L, 1L, 2L), (a.ReqCount, a.BytesTx, a.Errors4Xx, a.Errors5Xx));
        Assert.Equal([("i1", 2L, 120L, 1L, 0L), ("i2", 1L, 60L, 0L, 1L)], a.Instances.Select(i => (i.InstanceId, i.ReqCount, i.BytesTx, i.Errors4Xx, i.Errors5Xx)));
        Assert.Equal(LatencyBounds.Seconds, a.Latency.BoundsSeconds);
        Assert.Equal(LatencyBounds.Seconds.Length + 1, a.Latency.BucketCounts.Count);
        Assert.Equal(4, a.Latency.Count);
        // 1 ms at the first bound, 3 ms in (2.5, 5], 30 ms in (25, 50], 90 s above the last bound.
        Assert.Equal([1L, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], a.Latency.BucketCounts);
        Assert.Equal(90.034, a.Latency.SumSeconds, 9);
    }

    [Fact]
    public void Collect_StartsANewInterval()
    {
        var recorder = new LoadRecorder();
        recorder.Record("img.a", null, 200, 1, TimeSpan.Zero);
        Assert.Single(recorder.Collect().ToImageLoads());
        Assert.Empty(recorder.Collect().ToImageLoads());
        recorder.Record("img.a", null, 200, 1, TimeSpan.Zero);
        Assert.Equal(1, recorder.Collect().ToImageLoads().Single().ReqCount);
    }

    [Fact]
    public async Task ConcurrentRequests_AcrossManyIntervalCloses_AreEachCountedOnceAndWhole()
    {
        const int Threads = 2;
        const int PerThread = 100_000;
        const int Chunk = 5_000;
        var recorder = new LoadRecorder();
        var intervals = new List<List<ControlPlane.Api.V1.ImageLoad>>();
        var collections = 0;
        var writing = Threads;
        var collector = new Thread(() =>
        {
            while (Volatile.Read(ref writing) > 0)
            {
                intervals.Add(recorder.Collect().ToImageLoads());
                Interlocked.Increment(ref collections);
            }
        });
        collector.Start();
        var writers = Enumerable.Range(0, Threads).Select(t => Task.Run(() =>
        {
            try
            {
                for (var i = 0; i < PerThread; i++)
                {
                    if (i % Chunk == 0)
                    {
                        // Every chunk waits for one more close, so intervals close while requests are counted.
                        var seen = Volatile.Read(ref collections);
                        Assert.True(SpinWait.SpinUntil(() => Volatile.Read(ref collections) > seen, TaskTimeoutExtensions.Timeout), "the collector stopped closing intervals");
                    }
                    recorder.Record("img.a", "i" + (i % 3), i % 10 == 0 ? 500 : 200, 7, TimeSpan.FromMilliseconds(i % 20));
                }
            }
            finally
            {
                Interlocked.Decrement(ref writing); // the collector stops even when a writer failed
            }
        })).ToArray();
        await Task.WhenAll(writers).DefaultTimeout();
        Assert.True(collector.Join(TaskTimeoutExtensions.Timeout), "the collector did not stop");
        intervals.Add(recorder.Collect().ToImageLoads());

        var all = intervals.SelectMany(i => i).ToList();
        Assert.True(intervals.Count(i => i.Count > 0) >= PerThread / Chunk, "intervals closed while requests were counted");
        Assert.Equal(Threads * PerThread, all.Sum(l => l.ReqCount));
        Assert.Equal(Threads * PerThread * 7L, all.Sum(l => l.BytesTx));
        Assert.Equal(Threads * PerThread / 10, all.Sum(l => l.Errors5Xx));
        // Each request landed whole in one interval: its histogram sample and its instance beside it.
        foreach (var load in all)
        {
            Assert.Equal(load.ReqCount, load.Latency.BucketCounts.Sum());
            Assert.Equal(load.ReqCount, load.Instances.Sum(i => i.ReqCount));
            Assert.Equal(load.BytesTx, load.ReqCount * 7);
        }
    }
}
