using System.Globalization;
using System.Net;
using System.Text.Json;
using ControlPlane.System.Tests.Infrastructure;

namespace ControlPlane.System.Tests.Replicas;

/// <summary>
/// Exact billing across a replica failover, with real processes: requests go through two nodes
/// reporting their load every second to the first replica, which is killed (SIGKILL) while they
/// still send, so a report it counted may never have been acknowledged; the nodes resend what was
/// not acknowledged to the second. The billing export and the stats of the second count exactly the
/// requests the test sent: not one lost, not one counted twice. What was lost: nothing.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class BillingAcrossFailoverTests(Platform platform)
{
    private const string Image = "img.replica-billing";

    private static readonly Dictionary<string, string> ReportEverySecond = new() { ["Dataplane__Reporting__Interval"] = "00:00:01" };

    [Fact]
    public async Task RequestsBeforeAndAfterAReplicaIsKilled_AreBilledExactlyOnce()
    {
        await using var fleet = await ReplicaFleet.StartAsync(platform, replicas: 2, nodeOrders: [[0, 1], [0, 1]], nodeSettings: ReportEverySecond);
        var (a, b) = (fleet[0], fleet[1]);
        await Scenario.RunAsync(() => fleet.Processes, async () =>
        {
            var ids = platform.Backends.Select(x => "bill-" + x.InstanceId).ToArray();
            await Task.WhenAll(platform.Backends.Select((backend, i) => a.RegisterAsync(Image, ids[i], backend)));
            // Every request through a node for the image is billed, the probes that find it routed there too: counted.
            var sent = 0;
            foreach (var node in fleet.Nodes)
            {
                sent += await ProbeUntilRoutedAsync(node);
            }
            await ReplicaFleet.WaitConnectedAsync(a, [.. fleet.Nodes]);

            await using var traffic = new TrafficLoop(Image, [.. fleet.Nodes]);
            await traffic.WaitForAnswersAsync(TrafficLoop.Now(), 200);
            await Eventually.WaitAsync("cp-a counting the nodes' load reports", async () => await BilledAsync(a) > 0);
            var killed = TrafficLoop.Now();
            await a.KillAsync(); // while reports are being sent to it
            await ReplicaFleet.WaitConnectedAsync(b, [.. fleet.Nodes]);
            await traffic.WaitForAnswersAsync(killed, 300);
            await traffic.StopAsync();
            Assert.All(traffic.Answers, x => Assert.Equal(HttpStatusCode.OK, x.Answer.Status));
            Assert.Contains(traffic.Answers, x => x.At < killed);
            sent += traffic.Answers.Count;
            // The nodes counted exactly what was sent (a node counts a request once its answer is written,
            // which may be just after the client has read it).
            await Eventually.WaitAsync($"the nodes counting the {sent} requests sent", async () =>
            {
                var counted = (await Task.WhenAll(fleet.Nodes.Select(n => n.MetricsAsync()))).Sum(m => NodeRequests(m));
                Assert.True(counted <= sent, $"the nodes counted {counted} requests, {counted - sent} more than were sent");
                return counted == sent;
            }, describe: async () => string.Join(Environment.NewLine, (await Task.WhenAll(fleet.Nodes.Select(n => n.MetricsAsync())))
                .SelectMany(m => m.Split('\n').Where(l => l.Contains(Image, StringComparison.Ordinal) && l.StartsWith("controlplane_dataplane_requests", StringComparison.Ordinal))))
                + $"{Environment.NewLine}billed by cp-b: {await BilledAsync(b)}");

            // Reports arrive within a second or so: billed exactly, never more on the way.
            await Eventually.WaitAsync($"cp-b billing the {sent} requests sent", async () =>
            {
                var billed = await BilledAsync(b);
                Assert.True(billed <= sent, $"cp-b bills {billed} requests, {billed - sent} more than were sent");
                return billed == sent;
            }, describe: async () => $"cp-b bills {await BilledAsync(b)} of {sent}");
            Assert.Equal(sent, await StatsAsync(b, "images"));
            Assert.Equal(sent, await StatsAsync(b, "instances"));

            // Drained for certain: a node that stops sends what it still holds and waits for the
            // acknowledgement; the totals do not move.
            foreach (var node in fleet.Nodes)
            {
                var mark = node.Process.LineCount;
                Assert.Equal(0, await node.Process.StopAsync(TimeSpan.FromSeconds(30)));
                Assert.DoesNotContain(node.Process.LinesSince(mark), l => l.Contains("\"event_id\":3009", StringComparison.Ordinal)); // stopped with reports unacknowledged
            }
            Assert.Equal(sent, await BilledAsync(b));
            Assert.Equal(sent, await StatsAsync(b, "images"));
            Assert.Equal(sent, await StatsAsync(b, "instances"));
            // Whether cp-a had counted a report it never acknowledged is up to the moment of the kill
            // (the in-process replica tests force it); said here for the reader of the run.
            var duplicates = MetricSamples.Find(await b.Client.GetStringAsync("/metrics").DefaultTimeout(), "controlplane_stats_load_reports_total{result=\"duplicate\"}") ?? 0;
            TestContext.Current.TestOutputHelper?.WriteLine($"{sent} requests sent ({traffic.Answers.Count(x => x.At >= killed)} after the kill), {sent} billed by cp-b; resent reports cp-b found already counted: {duplicates}");
        });
    }

    /// <summary>
    /// Probes through <paramref name="node"/> until each backend answered (as <see cref="Platform.WaitRoutedAsync"/>);
    /// the number of them billed to the image: all but those the node answered 404 itself, before it
    /// held the image (it counts those under "_unknown", so that hostile paths cannot grow its counters).
    /// </summary>
    internal static async Task<int> ProbeUntilRoutedAsync(DataplaneNode node, string image = Image)
    {
        var sent = 0;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await Eventually.WaitAsync($"{node.NodeId} routing {image} to every backend", async () =>
        {
            var answer = await node.GetAsync(image, "/probe");
            if (answer.Instance is not null || answer.Status != HttpStatusCode.NotFound)
            {
                sent++;
            }
            if (answer.Instance is not null)
            {
                seen.Add(answer.Instance);
            }
            return seen.Count == 3;
        });
        return sent;
    }

    /// <summary>The requests of the image counted by the node (controlplane_dataplane_requests_total, every status class).</summary>
    internal static long NodeRequests(string metrics, string image = Image) => metrics.Split('\n')
        .Where(l => l.StartsWith("controlplane_dataplane_requests_total{", StringComparison.Ordinal) && l.Contains($"image=\"{image}\"", StringComparison.Ordinal))
        .Sum(l => long.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));

    /// <summary>req_count of the image in POST /v1/billing/export?window=1h (0 when it has no entry).</summary>
    internal static async Task<long> BilledAsync(ControlPlaneProcess replica, string image = Image)
    {
        using var response = await replica.Client.PostAsync("/v1/billing/export?window=1h", null).DefaultTimeout();
        var body = await response.Content.ReadAsStringAsync().DefaultTimeout();
        Assert.True(response.IsSuccessStatusCode, body);
        using var json = JsonDocument.Parse(body);
        return RequestCount(json.RootElement.GetProperty("images"), image);
    }

    /// <summary>The sum of req_count over GET /v1/stats/{images|instances}?image=...&amp;window=1h.</summary>
    internal static async Task<long> StatsAsync(ControlPlaneProcess replica, string what, string image = Image)
    {
        using var json = JsonDocument.Parse(await replica.Client.GetStringAsync($"/v1/stats/{what}?image={image}&window=1h").DefaultTimeout());
        return RequestCount(json.RootElement, image);
    }

    private static long RequestCount(JsonElement entries, string image) => entries.EnumerateArray()
        .Where(e => e.GetProperty("image").GetString() == image)
        .Sum(e => e.GetProperty("req_count") is { ValueKind: JsonValueKind.String } text ? long.Parse(text.GetString()!, CultureInfo.InvariantCulture) : e.GetProperty("req_count").GetInt64());
}
