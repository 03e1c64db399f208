using System.Net;
using System.Net.Http.Json;
using ControlPlane.System.Tests.Infrastructure;

namespace ControlPlane.System.Tests.Replicas;

/// <summary>
/// Redis frozen (SIGSTOP) under load, with real processes: two replicas, a node on each, three
/// instances kept alive by an agent with 3 s leases, traffic through both nodes. While Redis hangs,
/// for longer than a lease: both replicas answer /readyz 503, refuse writes with 503
/// store_unavailable and answer reads from memory (marked X-Platform-Last-Contact), the nodes keep
/// serving without a failed request. After SIGCONT: both are
/// ready again, the refused writes have not happened, a write made then reaches both nodes, and no
/// instance expired (one replica extended every lease, once), though no heartbeat could be recorded
/// for more than a lease.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class RedisPauseTests(Platform platform)
{
    private const string Image = "img.replica-redis-pause";
    private const int TtlSeconds = 3;

    // Calls to Redis give up after half a second, so the outage shows quickly.
    private static readonly Dictionary<string, string> QuickTimeout = new() { ["ControlPlane__Store__Redis__CommandTimeout"] = "00:00:00.500" };

    [Fact]
    public async Task RedisPausedUnderLoad_NodesKeepServing_WritesAreRefused_ThenEverythingReconverges_AndNothingExpires()
    {
        await using var fleet = await ReplicaFleet.StartAsync(platform, replicas: 2, nodeOrders: [[0, 1], [1, 0]], replicaSettings: QuickTimeout);
        await using var agent = new HeartbeatAgent(fleet.Replicas);
        var (a, b) = (fleet[0], fleet[1]);
        await Scenario.RunAsync(() => fleet.Processes, async () =>
        {
            var ids = await agent.RegisterAsync(Image, "rp", platform.Backends, TtlSeconds);
            await agent.StartAsync();
            foreach (var node in fleet.Nodes)
            {
                await Platform.WaitRoutedAsync(node, Image, ["b1", "b2", "b3"]);
            }
            await ReplicaFleet.WaitConnectedAsync(a, fleet.Nodes[0]);
            await ReplicaFleet.WaitConnectedAsync(b, fleet.Nodes[1]);
            await Eventually.WaitAsync("a heartbeat round renewing every instance", () => agent.Rounds.Any(r => r.Renewed == ids.Length));
            var registeredAt = await Task.WhenAll(ids.Select(id => ReplicaKillTests.RegisteredAtAsync(a, id)));
            await using var traffic = new TrafficLoop(Image, [.. fleet.Nodes]);
            await traffic.WaitForAnswersAsync(TrafficLoop.Now(), 100);

            fleet.Redis.Pause();
            var paused = TrafficLoop.Now();
            try
            {
                foreach (var replica in fleet.Replicas)
                {
                    await Eventually.WaitAsync($"{replica.Process.Name} not ready", async () => await ReadyAsync(replica) == (HttpStatusCode.ServiceUnavailable, "not_ready: store unreachable"));
                    var (status, body) = await TryRegisterAsync(replica, "rp-during-" + replica.Process.Name);
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
                    Assert.Contains("store_unavailable", body, StringComparison.Ordinal);
                    using var read = await replica.Client.GetAsync($"/v1/instances/{ids[0]}").DefaultTimeout();
                    Assert.Equal(HttpStatusCode.OK, read.StatusCode);
                    Assert.True(read.Headers.Contains("X-Platform-Last-Contact"), $"{replica.Process.Name}: a read during the outage is not marked as served from memory");
                    Assert.Contains("\"healthy\"", await read.Content.ReadAsStringAsync().DefaultTimeout(), StringComparison.Ordinal);
                }
                // Held past every lease renewed before the outage (a round answered just before the freeze
                // may be read after it): without the grace, each instance would expire now.
                await Eventually.WaitAsync("the leases renewed before the outage to run out", () =>
                    DateTimeOffset.UtcNow > agent.Rounds.Where(r => r.Renewed > 0).Max(r => r.CompletedAt).AddSeconds(TtlSeconds + 1), TimeSpan.FromSeconds(15));
                await traffic.WaitForAnswersAsync(paused, 200);
                Assert.All(fleet.Nodes, node => Assert.True(traffic.Answers.Count(x => x.At >= paused && x.NodeId == node.NodeId) > 0, $"{node.NodeId} served during the outage"));
            }
            finally
            {
                fleet.Redis.Resume();
            }
            var resumed = DateTimeOffset.UtcNow;

            foreach (var replica in fleet.Replicas)
            {
                await Eventually.WaitAsync($"{replica.Process.Name} ready again", async () => (await ReadyAsync(replica)).Status == HttpStatusCode.OK);
            }
            await Eventually.WaitAsync("heartbeat rounds renewing every instance after the outage", () => agent.Rounds.Count(r => r.CompletedAt > resumed && r.Renewed == ids.Length) >= 2);
            // A write made now reaches both nodes.
            await b.ChangeAsync("RoutingPolicy", fleet.NodeIds, () => b.SetPolicyAsync(Image, "weighted_rr", new Dictionary<string, int> { [ids[0]] = 2, [ids[1]] = 1, [ids[2]] = 1 }));
            var afterChange = TrafficLoop.Now();
            await traffic.WaitForAnswersAsync(afterChange, 100);
            await traffic.StopAsync();

            Assert.All(traffic.Answers, x => Assert.Equal(HttpStatusCode.OK, x.Answer.Status)); // zero failed requests, before, during and after
            for (var i = 0; i < ids.Length; i++)
            {
                Assert.Equal("healthy", await a.InstanceStatusAsync(ids[i]));
                Assert.Equal(registeredAt[i], await ReplicaKillTests.RegisteredAtAsync(b, ids[i]));
            }
            // The registrations refused during the outage did not happen later either.
            Assert.Null(await a.InstanceStatusAsync("rp-during-cp-a"));
            Assert.Null(await b.InstanceStatusAsync("rp-during-cp-b"));
            Assert.All(agent.Rounds, round => Assert.Equal(0, round.NotFound));
            Assert.Empty(fleet.ExpiryLines());
            var extensions = 0.0;
            foreach (var replica in fleet.Replicas)
            {
                extensions += MetricSamples.Find(await replica.Client.GetStringAsync("/metrics").DefaultTimeout(), "controlplane_replication_lease_extensions_total") ?? 0;
            }
            Assert.Equal(1, extensions); // the leases were extended once, by one replica
            foreach (var node in fleet.Nodes)
            {
                await ReplicaKillTests.AssertWeightedAsync(node, Image);
            }
        });
    }

    private static async Task<(HttpStatusCode Status, string Body)> ReadyAsync(ControlPlaneProcess replica)
    {
        using var response = await replica.Client.GetAsync("/readyz").DefaultTimeout();
        return (response.StatusCode, await response.Content.ReadAsStringAsync().DefaultTimeout());
    }

    /// <summary>POST /v1/services/register of one more instance, whatever the answer.</summary>
    private static async Task<(HttpStatusCode Status, string Body)> TryRegisterAsync(ControlPlaneProcess replica, string instanceId)
    {
        using var response = await replica.Client.PostAsJsonAsync("/v1/services/register", new Dictionary<string, object>
        {
            ["name"] = Image + "-svc",
            ["image"] = Image,
            ["instance_id"] = instanceId,
            ["host"] = "127.0.0.1",
            ["port"] = FreePorts.Next(),
            ["ttl_seconds"] = TtlSeconds,
        }).DefaultTimeout();
        return (response.StatusCode, await response.Content.ReadAsStringAsync().DefaultTimeout());
    }
}
