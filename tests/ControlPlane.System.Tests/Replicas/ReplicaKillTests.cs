using System.Diagnostics;
using System.Net;
using ControlPlane.System.Tests.Infrastructure;

namespace ControlPlane.System.Tests.Replicas;

/// <summary>
/// A replica killed (SIGKILL) under load, with real processes: two replicas on one redis-server, two
/// nodes given both and connected to the first, three instances kept alive by an agent whose one
/// heartbeat stream goes through the first, traffic through both nodes. The nodes move to the other
/// replica within two seconds and serve on without a single failed request; the heartbeat stream
/// moves too and no instance expires; a change made on the surviving replica reaches both nodes.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class ReplicaKillTests(Platform platform)
{
    private const string Image = "img.replica-kill";
    private const int TtlSeconds = 3;
    private static readonly TimeSpan FailoverLimit = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task ReplicaKilledUnderLoad_NodesAndHeartbeatsMoveToTheOther_NothingFailsOrExpires()
    {
        await using var fleet = await ReplicaFleet.StartAsync(platform, replicas: 2, nodeOrders: [[0, 1], [0, 1]]);
        await using var agent = new HeartbeatAgent(fleet.Replicas);
        var (a, b) = (fleet[0], fleet[1]);
        await Scenario.RunAsync(() => fleet.Processes, async () =>
        {
            var ids = await agent.RegisterAsync(Image, "rk", platform.Backends, TtlSeconds);
            await agent.StartAsync();
            foreach (var node in fleet.Nodes)
            {
                await Platform.WaitRoutedAsync(node, Image, ["b1", "b2", "b3"]);
            }
            await ReplicaFleet.WaitConnectedAsync(a, [.. fleet.Nodes]);
            await Eventually.WaitAsync("a heartbeat round through cp-a", () => agent.RenewedThrough(a, ids.Length, DateTimeOffset.MinValue) > 0);
            var registeredAt = await Task.WhenAll(ids.Select(id => RegisteredAtAsync(a, id)));

            await using var traffic = new TrafficLoop(Image, [.. fleet.Nodes]);
            await traffic.WaitForAnswersAsync(TrafficLoop.Now(), 100);

            var killedAt = DateTimeOffset.UtcNow;
            var killed = TrafficLoop.Now();
            await a.KillAsync();
            // Measured from the kill to the moment the node's own /metrics says its stream to cp-b is open.
            var failovers = await Task.WhenAll(fleet.Nodes.Select(async node =>
            {
                await Eventually.WaitAsync($"{node.NodeId} connected to cp-b", () => node.ConnectedToAsync(b.GrpcAddress), TimeSpan.FromSeconds(15));
                return (node.NodeId, Elapsed: Stopwatch.GetElapsedTime(killed));
            }));
            foreach (var (node, elapsed) in failovers)
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"{node}: connected to cp-b {elapsed.TotalMilliseconds:0} ms after cp-a was killed");
            }

            // The heartbeat stream moved to cp-b; a lease's length and more went by there (a round every third of it).
            await Eventually.WaitAsync("four heartbeat rounds through cp-b renewing every instance", () => agent.RenewedThrough(b, ids.Length, killedAt) >= 4);
            await traffic.WaitForAnswersAsync(killed, 300);

            // A change made on the surviving replica reaches both nodes (acknowledged, per cp-b's fleet view).
            var weights = new Dictionary<string, int> { [ids[0]] = 2, [ids[1]] = 1, [ids[2]] = 1 };
            await b.ChangeAsync("RoutingPolicy", fleet.NodeIds, () => b.SetPolicyAsync(Image, "weighted_rr", weights));
            await traffic.StopAsync();

            Assert.All(failovers, f => Assert.True(f.Elapsed < FailoverLimit, $"{f.NodeId} took {f.Elapsed.TotalMilliseconds:0} ms to connect to cp-b (limit {FailoverLimit.TotalMilliseconds:0} ms)"));
            var answers = traffic.Answers;
            Assert.All(answers, x => Assert.Equal(HttpStatusCode.OK, x.Answer.Status)); // zero failed requests, before, during and after
            foreach (var node in fleet.NodeIds)
            {
                // Every instance kept serving through each node after the kill: none was dropped.
                Assert.All(platform.Backends, backend => Assert.Contains(answers, x => x.At >= killed && x.NodeId == node && x.Answer.Instance == backend.InstanceId));
            }

            // No instance expired: cp-b lists each as healthy, registered when it was (never registered
            // again), no round found one missing, no replica logged or counted an expiry.
            for (var i = 0; i < ids.Length; i++)
            {
                Assert.Equal("healthy", await b.InstanceStatusAsync(ids[i]));
                Assert.Equal(registeredAt[i], await RegisteredAtAsync(b, ids[i]));
            }
            Assert.All(agent.Rounds, round => Assert.Equal(0, round.NotFound));
            Assert.Empty(fleet.ExpiryLines());
            Assert.Equal(0, MetricSamples.Find(await b.Client.GetStringAsync("/metrics").DefaultTimeout(), "controlplane_registry_expirations_total") ?? 0);

            // cp-b's fleet view has both nodes on it, and they route by the policy set there (2:1:1).
            var fleetView = await b.FleetAsync();
            Assert.All(fleet.NodeIds, id => Assert.Equal("cp-b", fleetView.ControlPlaneId(id)));
            foreach (var node in fleet.Nodes)
            {
                await AssertWeightedAsync(node, Image);
            }
        });
    }

    /// <summary>Smooth weighted round robin over b1:b2:b3 = 2:1:1, with the node's requests one after another: exactly 2:1:1, give or take one round.</summary>
    internal static async Task AssertWeightedAsync(DataplaneNode node, string image)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < 200; i++)
        {
            var answer = await node.GetAsync(image);
            Assert.Equal(HttpStatusCode.OK, answer.Status);
            counts[answer.Instance!] = counts.GetValueOrDefault(answer.Instance!) + 1;
        }
        Assert.InRange(counts.GetValueOrDefault("b1"), 98, 102);
        Assert.InRange(counts.GetValueOrDefault("b2"), 48, 52);
        Assert.InRange(counts.GetValueOrDefault("b3"), 48, 52);
    }

    /// <summary>The instance's registered_at as the replica's registry holds it (GET /v1/instances/{id}).</summary>
    internal static async Task<string> RegisteredAtAsync(ControlPlaneProcess replica, string instanceId)
    {
        using var document = global::System.Text.Json.JsonDocument.Parse(await replica.Client.GetStringAsync($"/v1/instances/{instanceId}").DefaultTimeout());
        return document.RootElement.GetProperty("instance").GetProperty("registered_at").GetString()!;
    }
}
