using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Server.Stats;
using static ControlPlane.Server.Tests.Stats.Reports;

namespace ControlPlane.Server.Tests.Stats;

/// <summary>
/// load_report.proto's exactly-once rules over real streams: every report is answered with the
/// epoch's last accepted sequence; resends are acknowledged and not counted again; gaps are not
/// counted and name where to resend from; a new epoch starts a new sequence space. Run on each
/// load store (the embedded one and Redis).
/// </summary>
public abstract class ExactlyOnceContract
{
    /// <summary>The host on the store under test, with these extra settings.</summary>
    private protected abstract Task<StatsHost> StartHostAsync(params string[] args);

    [Fact]
    public async Task DuplicateReport_IsAcknowledged_AndCountedOnce()
    {
        await using var host = await StartHostAsync();
        using var stream = host.OpenReportStream();

        var first = await stream.SendAsync(Report("e1", 1, Image("img.a", 7)));
        var again = await stream.SendAsync(Report("e1", 1, Image("img.a", 7)));

        Assert.Equal(("e1", 1ul, "cp-stats"), (first.Epoch, first.AckedSequence, first.ControlPlaneId));
        Assert.Equal(1ul, again.AckedSequence);
        Assert.Equal(7, await RequestsAsync(host, "img.a"));
        var metrics = await host.MetricsAsync();
        Assert.Contains("controlplane_stats_load_reports_total{result=\"accepted\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("controlplane_stats_load_reports_total{result=\"duplicate\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("controlplane_stats_requests_counted_total 7", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gap_IsNotCounted_AndNamesWhereToResendFrom()
    {
        await using var host = await StartHostAsync();
        using var stream = host.OpenReportStream();
        await stream.SendAsync(Report("e1", 1, Image("img.a", 1)));

        var gap = await stream.SendAsync(Report("e1", 3, Image("img.a", 100)));
        Assert.Equal(1ul, gap.AckedSequence);
        Assert.Equal(1, await RequestsAsync(host, "img.a"));

        // The node resends from 2, then 3 is accepted in order.
        Assert.Equal(2ul, (await stream.SendAsync(Report("e1", 2, Image("img.a", 10)))).AckedSequence);
        Assert.Equal(3ul, (await stream.SendAsync(Report("e1", 3, Image("img.a", 100)))).AckedSequence);
        Assert.Equal(111, await RequestsAsync(host, "img.a"));
        Assert.Contains("controlplane_stats_load_reports_total{result=\"gap\"} 1", await host.MetricsAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownEpoch_StartingPastOne_IsAGapFromZero_AndIsNotRemembered()
    {
        await using var host = await StartHostAsync();
        using var stream = host.OpenReportStream();

        Assert.Equal(0ul, (await stream.SendAsync(Report("lost", 5, Image("img.a", 5)))).AckedSequence);
        Assert.Equal(0ul, (await stream.SendAsync(Report("lost", 6, Image("img.a", 5)))).AckedSequence);
        Assert.Equal(0, await RequestsAsync(host, "img.a"));
    }

    [Fact]
    public async Task ResendAfterReconnect_CountsOnlyWhatWasNotAcceptedBefore()
    {
        await using var host = await StartHostAsync();
        using (var before = host.OpenReportStream())
        {
            await before.SendAsync(Report("e1", 1, Image("img.a", 10, instances: ["i1", "i2"])));
            // Report 2 is accepted, but the node never reads the answer: the stream breaks first.
            await before.WriteAsync(Report("e1", 2, Image("img.a", 20, instances: ["i1", "i2"])));
            await WaitForAcceptedAsync(host, "img.a", 30);
        }

        // After reconnecting, the node resends every report it holds unacknowledged, in order.
        using var after = host.OpenReportStream();
        Assert.Equal(2ul, (await after.SendAsync(Report("e1", 2, Image("img.a", 20, instances: ["i1", "i2"])))).AckedSequence);
        Assert.Equal(3ul, (await after.SendAsync(Report("e1", 3, Image("img.a", 4, instances: ["i1", "i2"])))).AckedSequence);

        Assert.Equal(34, await RequestsAsync(host, "img.a"));
        var instances = await host.Store.SumAsync(LoadScope.Instances, host.Clock.GetUtcNow().AddHours(-1), host.Clock.GetUtcNow().AddSeconds(1), "img.a").DefaultTimeout();
        Assert.Equal([("i1", 17L), ("i2", 17L)], instances.Select(i => (i.InstanceId, i.Counts.Requests)));
    }

    [Fact]
    public async Task NewEpoch_StartsItsOwnSequence_WhileTheOldOneStaysKnown()
    {
        await using var host = await StartHostAsync();
        using var stream = host.OpenReportStream();
        await stream.SendAsync(Report("old", 1, Image("img.a", 1)));
        await stream.SendAsync(Report("old", 2, Image("img.a", 2)));

        // The node restarted without its state: a new epoch, from 1.
        using var restarted = host.OpenReportStream();
        var answer = await restarted.SendAsync(Report("new", 1, Image("img.a", 4)));
        Assert.Equal(("new", 1ul), (answer.Epoch, answer.AckedSequence));
        Assert.Equal(2ul, (await restarted.SendAsync(Report("old", 2, Image("img.a", 2)))).AckedSequence);
        Assert.Equal(7, await RequestsAsync(host, "img.a"));
    }

    [Fact]
    public async Task TwoStreamsOfOneNode_RacingTheSameReports_CountEachOnce()
    {
        await using var host = await StartHostAsync();
        using var a = host.OpenReportStream();
        using var b = host.OpenReportStream();

        async Task SendAll(ReportStream stream)
        {
            for (ulong s = 1; s <= 50; s++)
            {
                var answer = await stream.SendAsync(Report("e1", s, Image("img.a", 3)));
                Assert.True(answer.AckedSequence >= s, $"report {s} answered {answer.AckedSequence}");
            }
        }
        await Task.WhenAll(SendAll(a), SendAll(b)).DefaultTimeout();

        Assert.Equal(150, await RequestsAsync(host, "img.a"));
    }

    [Fact]
    public async Task EmptyReport_KeepsTheSequenceMoving()
    {
        await using var host = await StartHostAsync();
        using var stream = host.OpenReportStream();
        Assert.Equal(1ul, (await stream.SendAsync(Report("e1", 1))).AckedSequence);
        Assert.Equal(2ul, (await stream.SendAsync(Report("e1", 2, Image("img.a", 3)))).AckedSequence);
        Assert.Equal(3, await RequestsAsync(host, "img.a"));
    }

    [Fact]
    public async Task ConfiguredReportInterval_IsSentInTheFirstAnswerOnly()
    {
        await using var host = await StartHostAsync("--ControlPlane:Stats:ReportInterval=00:00:05");
        using var stream = host.OpenReportStream();
        var first = await stream.SendAsync(Report("e1", 1));
        var second = await stream.SendAsync(Report("e1", 2));
        Assert.Equal(TimeSpan.FromSeconds(5), first.ReportInterval.ToTimeSpan());
        Assert.Null(second.ReportInterval);
    }

    [Fact]
    public async Task StoppingTheControlPlane_EndsReportStreamsAtOnce()
    {
        var host = await StartHostAsync();
        try
        {
            using var stream = host.OpenReportStream();
            await stream.SendAsync(Report("e1", 1));
            // The node reads while the control plane stops (as a node's reader loop does).
            var ended = stream.WaitForEndAsync();
            await host.StopAsync();
            var end = await ended;
            Assert.NotEqual(StatusCode.OK, end.StatusCode);
            if (end.StatusCode == StatusCode.Unavailable && end.Reason() is { } reason)
            {
                Assert.Equal("shutting_down", reason);
            }
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    private static async Task<long> RequestsAsync(StatsHost host, string image)
    {
        var now = host.Clock.GetUtcNow();
        var totals = await host.Store.SumAsync(LoadScope.Images, now.AddHours(-1), now.AddSeconds(1), image).DefaultTimeout();
        return totals.Sum(t => t.Counts.Requests);
    }

    /// <summary>Waits until the store holds <paramref name="requests"/> of <paramref name="image"/>, re-checking after each report the server handles.</summary>
    private static async Task WaitForAcceptedAsync(StatsHost host, string image, long requests)
    {
        using var reports = new ReportSignal(host.Services);
        var deadline = DateTime.UtcNow + TaskTimeoutExtensions.Timeout;
        while (await RequestsAsync(host, image) < requests)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !await reports.Handled.WaitAsync(left))
            {
                throw new TimeoutException($"the server did not count {requests} requests of {image}");
            }
        }
    }
}
