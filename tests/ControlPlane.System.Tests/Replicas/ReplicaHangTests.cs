using System.Diagnostics;
using System.Net;
using ControlPlane.System.Tests.Infrastructure;

namespace ControlPlane.System.Tests.Replicas;

/// <summary>
/// A replica that hangs (SIGSTOP) under load, with real processes: its kernel keeps the connections
/// open and acknowledges what is sent, and nothing answers, as with a stopped, swapping or
/// partitioned process. Two replicas on one redis-server, two nodes given both and connected to the
/// first, three instances kept alive by an agent (3 s leases) through the first, traffic through both
/// nodes, load reports every second. With the default settings the nodes notice by their connection's
/// keepalive and move to the other replica within its interval and timeout (5 s + 5 s); the agent's
/// heartbeat round goes unanswered and moves within a beat interval; not a request fails, no instance
/// expires, a change made on the other replica reaches both nodes, and billing counts every request
/// exactly once. When the hung replica runs again, none of that moves: what it held (renewals, reports
/// the nodes resent elsewhere) changes nothing. What was lost: nothing.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class ReplicaHangTests(Platform platform)
{
    private const string Image = "img.replica-hang";
    private const int TtlSeconds = 3;

    // The node's defaults (Dataplane:ControlPlaneKeepAliveInterval and ...Timeout), and the reconnect.
    private static readonly TimeSpan FailoverLimit = TimeSpan.FromSeconds(5 + 5 + 3);

    private static readonly Dictionary<string, string> ReportEverySecond = new() { ["Dataplane__Reporting__Interval"] = "00:00:01" };

    [Fact]
    public async Task ReplicaHangsUnderLoad_NodesAndHeartbeatsMoveToTheOther_NothingFailsExpiresOrIsMiscounted()
    {
        await using var fleet = await ReplicaFleet.StartAsync(platform, replicas: 2, nodeOrders: [[0, 1], [0, 1]], nodeSettings: ReportEverySecond);
        await using var agent = new HeartbeatAgent(fleet.Replicas);
        var (a, b) = (fleet[0], fleet[1]);
        await Scenario.RunAsync(() => fleet.Processes, async () =>
        {
            var ids = await agent.RegisterAsync(Image, "rh", platform.Backends, TtlSeconds);
            await agent.StartAsync();
            var sent = 0;
            foreach (var node in fleet.Nodes)
            {
                sent += await BillingAcrossFailoverTests.ProbeUntilRoutedAsync(node, Image);
            }
            await ReplicaFleet.WaitConnectedAsync(a, [.. fleet.Nodes]);
            await Eventually.WaitAsync("a heartbeat round through cp-a", () => agent.RenewedThrough(a, ids.Length, DateTimeOffset.MinValue) > 0);
            var registeredAt = await Task.WhenAll(ids.Select(id => ReplicaKillTests.RegisteredAtAsync(a, id)));

            await using var traffic = new TrafficLoop(Image, [.. fleet.Nodes]);
            await traffic.WaitForAnswersAsync(TrafficLoop.Now(), 100);
            await Eventually.WaitAsync("cp-a counting the nodes' load reports", async () => await BillingAcrossFailoverTests.BilledAsync(a, Image) > 0);

            var pausedAt = DateTimeOffset.UtcNow;
            var paused = TrafficLoop.Now();
            a.Process.Pause();
            try
            {
                var failovers = await Task.WhenAll(fleet.Nodes.Select(async node =>
                {
                    await Eventually.WaitAsync($"{node.NodeId} connected to cp-b", () => node.ConnectedToAsync(b.GrpcAddress), TimeSpan.FromSeconds(30));
                    return (node.NodeId, Elapsed: Stopwatch.GetElapsedTime(paused));
                }));
                foreach (var (node, elapsed) in failovers)
                {
                    TestContext.Current.TestOutputHelper?.WriteLine($"{node}: connected to cp-b {elapsed.TotalMilliseconds:0} ms after cp-a hung");
                }
                Assert.All(failovers, f => Assert.True(f.Elapsed < FailoverLimit, $"{f.NodeId} took {f.Elapsed.TotalMilliseconds:0} ms to connect to cp-b (limit {FailoverLimit.TotalMilliseconds:0} ms)"));

                // The heartbeat stream moved to cp-b; a lease's length and more went by there.
                await Eventually.WaitAsync("four heartbeat rounds through cp-b renewing every instance", () => agent.RenewedThrough(b, ids.Length, pausedAt) >= 4);
                var weights = new Dictionary<string, int> { [ids[0]] = 2, [ids[1]] = 1, [ids[2]] = 1 };
                await b.ChangeAsync("RoutingPolicy", fleet.NodeIds, () => b.SetPolicyAsync(Image, "weighted_rr", weights));
                await traffic.WaitForAnswersAsync(paused, 300);
                await traffic.StopAsync();
            }
            finally
            {
                a.Process.Resume();
            }
            var resumedAt = DateTimeOffset.UtcNow;

            var answers = traffic.Answers;
            Assert.All(answers, x => Assert.Equal(HttpStatusCode.OK, x.Answer.Status)); // zero failed requests, before, during and after
            foreach (var node in fleet.NodeIds)
            {
                Assert.All(platform.Backends, backend => Assert.Contains(answers, x => x.At >= paused && x.NodeId == node && x.Answer.Instance == backend.InstanceId));
            }
            sent += answers.Count;

            // cp-a runs again: it is ready, and what it held while hung changes nothing below.
            await Eventually.WaitAsync("cp-a ready again", async () =>
            {
                using var ready = await a.Client.GetAsync("/readyz").DefaultTimeout();
                return ready.StatusCode == HttpStatusCode.OK;
            });
            await Eventually.WaitAsync("three heartbeat rounds after cp-a resumed", () => agent.Rounds.Count(r => r.CompletedAt > resumedAt && r.Renewed == ids.Length) >= 3);

            // Billed exactly once, by both replicas (one count in Redis): not a report lost with the
            // hung replica, not one counted twice when the nodes resent it to cp-b or cp-a read it late.
            await Eventually.WaitAsync($"the nodes counting the {sent} requests sent", async () =>
                (await Task.WhenAll(fleet.Nodes.Select(n => n.MetricsAsync()))).Sum(m => BillingAcrossFailoverTests.NodeRequests(m, Image)) == sent);
            foreach (var replica in fleet.Replicas)
            {
                await Eventually.WaitAsync($"{replica.Process.Name} billing the {sent} requests sent", async () =>
                {
                    var billed = await BillingAcrossFailoverTests.BilledAsync(replica, Image);
                    Assert.True(billed <= sent, $"{replica.Process.Name} bills {billed} requests, {billed - sent} more than were sent");
                    return billed == sent;
                }, describe: async () => $"{replica.Process.Name} bills {await BillingAcrossFailoverTests.BilledAsync(replica, Image)} of {sent}");
                Assert.Equal(sent, await BillingAcrossFailoverTests.StatsAsync(replica, "instances", Image));
            }

            // No instance expired, during the hang or after it: each healthy, registered when it was.
            for (var i = 0; i < ids.Length; i++)
            {
                Assert.Equal("healthy", await b.InstanceStatusAsync(ids[i]));
                Assert.Equal(registeredAt[i], await ReplicaKillTests.RegisteredAtAsync(b, ids[i]));
            }
            Assert.All(agent.Rounds, round => Assert.Equal(0, round.NotFound));
            Assert.Empty(fleet.ExpiryLines());
            var fleetView = await b.FleetAsync();
            Assert.All(fleet.NodeIds, id => Assert.Equal("cp-b", fleetView.ControlPlaneId(id)));
        });
    }
}
