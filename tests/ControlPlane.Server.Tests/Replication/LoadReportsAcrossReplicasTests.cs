using System.Net;
using System.Text.Json;
using ControlPlane.Server.Tests.Stats;
using static ControlPlane.Server.Tests.Stats.Reports;

namespace ControlPlane.Server.Tests.Replication;

/// <summary>
/// Load reports sent to any replica count once: one node's reports spread over two replicas, each
/// resent to the other, and a replica stopped while a report was accepted but not yet acknowledged,
/// give exactly the totals the node served, on every replica's stats and billing export.
/// </summary>
public sealed class LoadReportsAcrossReplicasTests
{
    [Fact]
    public async Task ReportsSplitBetweenTwoReplicas_WithEveryReportResentToTheOther_CountOnce()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 2, new ManualTimeProvider());
        var (a, b) = (set[0], set[1]);
        using var toA = new ReportStream(a.Channel, "node-1", null);
        using var toB = new ReportStream(b.Channel, "node-1", null);

        for (ulong s = 1; s <= 20; s++)
        {
            var (first, other) = s % 2 == 1 ? (toA, toB) : (toB, toA);
            var report = Report("e1", s, Image("img.a", (long)s, instances: ["i1", "i2"]));
            Assert.Equal(s, (await first.SendAsync(report)).AckedSequence);
            // The node did not see the answer in time and resends to the other replica: acknowledged, not counted.
            Assert.Equal(s, (await other.SendAsync(report)).AckedSequence);
        }
        // A report from the future (a gap) on either replica: not counted, the resend point named.
        Assert.Equal(20ul, (await toA.SendAsync(Report("e1", 22, Image("img.a", 1000)))).AckedSequence);

        set.Clock!.Advance(TimeSpan.FromSeconds(10)); // the export counts buckets that started before now
        foreach (var replica in set.Replicas)
        {
            Assert.Equal(210, await RequestsAsync(replica, "img.a")); // 1 + 2 + ... + 20
            Assert.Equal(210 * 100, (await BillingAsync(replica)).GetProperty("bytes_tx").GetInt64());
            var instances = await replica.GetJsonAsync("/v1/stats/instances?image=img.a&window=1h");
            Assert.Equal([("i1", 110L), ("i2", 100L)], instances.EnumerateArray().Select(i => (i.GetProperty("instance_id").GetString(), i.GetProperty("req_count").GetInt64())));
        }
        Assert.Contains("controlplane_stats_load_reports_total{result=\"duplicate\"} 10", await a.MetricsAsync(), StringComparison.Ordinal);
        Assert.Contains("controlplane_stats_load_reports_total{result=\"duplicate\"} 10", await b.MetricsAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AReplicaStoppedAfterAcceptingAReportItNeverAcknowledged_TheResendToAnotherCountsNothingTwice()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 2, new ManualTimeProvider());
        var (a, b) = (set[0], set[1]);
        var served = 0L;
        using (var toA = new ReportStream(a.Channel, "node-1", null))
        {
            for (ulong s = 1; s <= 4; s++)
            {
                await toA.SendAsync(Report("e1", s, Image("img.a", 10 * (long)s)));
                served += 10 * (long)s;
            }
            // Report 5 reaches a, which counts it and stops before the node reads the answer.
            await toA.WriteAsync(Report("e1", 5, Image("img.a", 50)));
            served += 50;
            await Eventually.WaitAsync("a to count report 5", async () => await RequestsAsync(b, "img.a") == served);
            await a.StopAsync();
        }

        // The node resends what it holds unacknowledged (5), then goes on, on b.
        using var toB = new ReportStream(b.Channel, "node-1", null);
        Assert.Equal(5ul, (await toB.SendAsync(Report("e1", 5, Image("img.a", 50)))).AckedSequence);
        for (ulong s = 6; s <= 8; s++)
        {
            Assert.Equal(s, (await toB.SendAsync(Report("e1", s, Image("img.a", 10 * (long)s)))).AckedSequence);
            served += 10 * (long)s;
        }

        set.Clock!.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(served, await RequestsAsync(b, "img.a"));
        Assert.Equal(served, (await BillingAsync(b)).GetProperty("req_count").GetInt64());
    }

    private static async Task<long> RequestsAsync(Replica replica, string image)
    {
        // The reference's shape: the array itself.
        var stats = await replica.GetJsonAsync($"/v1/stats/images?window=1h&image={image}");
        return stats.EnumerateArray().Sum(i => i.GetProperty("req_count").GetInt64());
    }

    private static async Task<JsonElement> BillingAsync(Replica replica)
    {
        using var response = await replica.Http.PostAsync("/v1/billing/export?window=1h", null).DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync().DefaultTimeout());
        return json.RootElement.GetProperty("images").EnumerateArray().Single(i => i.GetProperty("image").GetString() == "img.a").Clone();
    }
}
