using System.Net;
using ControlPlane.System.Tests.Infrastructure;

namespace ControlPlane.System.Tests.Replicas;

/// <summary>
/// One replica cut off from Redis (a TCP relay between them stops carrying bytes) while the other
/// still reaches it, with real processes: a node given both replicas, connected to the cut-off one,
/// traffic through it. A policy set through the other replica cannot reach the cut-off one; once that
/// one has been without Redis for HandOffNodesAfter it ends its node's stream, the node reconnects to
/// the other replica and routes by the new policy, without a single failed request. Then Redis is
/// lost to the other replica too: it hands the node off in turn, the node's next address is the
/// replica that never saw the policy, which refuses it (replica_behind: the node holds a newer store
/// position), and the node comes back to the replica it left, still routing by the policy.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class ReplicaCutOffTests(Platform platform)
{
    private const string Image = "img.replica-cut-off";

    private static readonly Dictionary<string, string> Settings = new()
    {
        ["ControlPlane__Store__Redis__CommandTimeout"] = "00:00:00.500",
        ["ControlPlane__Replication__HandOffNodesAfter"] = "00:00:02",
    };

    [Fact]
    public async Task AReplicaCutOffFromRedis_HandsItsNodeToTheOther_WhichBringsTheCurrentPolicy_AndNeitherSendsItBack_WithoutAFailedRequest()
    {
        TcpRelay? relay = null, relayB = null;
        await using var fleet = await ReplicaFleet.StartAsync(platform, replicas: 2, nodeOrders: [[0, 1]], replicaSettings: Settings,
            redisUrls: redis =>
            {
                relay = TcpRelay.Start(redis.Port);
                relayB = TcpRelay.Start(redis.Port);
                return new Dictionary<int, string> { [0] = $"redis://127.0.0.1:{relay.Port}/0", [1] = $"redis://127.0.0.1:{relayB.Port}/0" };
            });
        await using var _ = relay!;
        await using var __ = relayB!;
        await using var agent = new HeartbeatAgent(fleet.Replicas);
        var (a, b) = (fleet[0], fleet[1]);
        var node = fleet.Nodes[0];
        await Scenario.RunAsync(() => fleet.Processes, async () =>
        {
            var ids = await agent.RegisterAsync(Image, "co", platform.Backends, ttlSeconds: 3600);
            await Platform.WaitRoutedAsync(node, Image, ["b1", "b2", "b3"]);
            await ReplicaFleet.WaitConnectedAsync(a, node);
            await using var traffic = new TrafficLoop(Image, [node]);
            await traffic.WaitForAnswersAsync(TrafficLoop.Now(), 100);

            relay!.Cut();
            var cut = TrafficLoop.Now();
            await b.SetPolicyAsync(Image, "weighted_rr", new Dictionary<string, int> { [ids[0]] = 2, [ids[1]] = 1, [ids[2]] = 1 });
            await Eventually.WaitAsync("the node to move to cp-b", () => node.ConnectedToAsync(b.GrpcAddress), TimeSpan.FromSeconds(30));
            await Eventually.WaitAsync("cp-b to list the node synced", async () => (await b.FleetAsync()).Synced(node.NodeId, "RoutingPolicy"));
            await traffic.WaitForAnswersAsync(cut, 200);
            Assert.Contains(a.Process.Lines, l => l.Contains("\"event_id\":8114", StringComparison.Ordinal));

            // Redis lost to both: b hands the node off too; a, which never saw the policy, refuses it.
            relayB!.Cut();
            await Eventually.WaitAsync("cp-b to hand the node off", () => b.Process.Lines.Any(l => l.Contains("\"event_id\":8114", StringComparison.Ordinal)), TimeSpan.FromSeconds(30));
            await Eventually.WaitAsync("cp-a to refuse the node", () => a.Process.Lines.Any(l => l.Contains("\"event_id\":4017", StringComparison.Ordinal)), TimeSpan.FromSeconds(30));
            await Eventually.WaitAsync("the node back on cp-b", () => node.ConnectedToAsync(b.GrpcAddress), TimeSpan.FromSeconds(30));
            var back = TrafficLoop.Now();
            await traffic.WaitForAnswersAsync(back, 200);
            await traffic.StopAsync();

            Assert.All(traffic.Answers, x => Assert.Equal(HttpStatusCode.OK, x.Answer.Status)); // zero failed requests
            await ReplicaKillTests.AssertWeightedAsync(node, Image); // still the policy: never sent back to a's configuration
            relay.Restore();
            relayB.Restore();
        });
    }
}
