using System.Diagnostics;
using System.Net;
using ControlPlane.System.Tests.Infrastructure;

namespace ControlPlane.System.Tests.Replicas;

/// <summary>
/// Three replicas, one killed under load: its nodes move to the other two, each to the next replica
/// it was given (so they share them), within two seconds and without a failed request; the nodes of
/// the survivors stay; the fleet view of each survivor shows every node on the replica holding it,
/// and a change made through either survivor reaches every node.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class ThreeReplicaTests(Platform platform)
{
    private const string Image = "img.replica-three";
    private static readonly TimeSpan FailoverLimit = TimeSpan.FromSeconds(2);

    [Fact]
    public async Task OneOfThreeReplicasKilled_TheOtherTwoShareItsNodes()
    {
        // Nodes 1 and 2 start on cp-a and move on to cp-b and cp-c respectively; nodes 3 and 4 stay on
        // cp-b and cp-c (so neither survivor serves its first stream then: on this 2-core machine a
        // replica's first stream alone takes a few hundred milliseconds of compiling).
        await using var fleet = await ReplicaFleet.StartAsync(platform, replicas: 3, nodeOrders: [[0, 1, 2], [0, 2, 1], [1, 2, 0], [2, 1, 0]]);
        var (a, b, c) = (fleet[0], fleet[1], fleet[2]);
        var (n1, n2, n3, n4) = (fleet.Nodes[0], fleet.Nodes[1], fleet.Nodes[2], fleet.Nodes[3]);
        await Scenario.RunAsync(() => fleet.Processes, async () =>
        {
            // Written through cp-c, served by cp-a and cp-b to their nodes.
            var ids = platform.Backends.Select(x => "three-" + x.InstanceId).ToArray();
            await Task.WhenAll(platform.Backends.Select((backend, i) => c.RegisterAsync(Image, ids[i], backend)));
            foreach (var node in fleet.Nodes)
            {
                await Platform.WaitRoutedAsync(node, Image, ["b1", "b2", "b3"]);
            }
            await ReplicaFleet.WaitConnectedAsync(a, n1, n2);
            await ReplicaFleet.WaitConnectedAsync(b, n3);
            await ReplicaFleet.WaitConnectedAsync(c, n4);

            await using var traffic = new TrafficLoop(Image, [.. fleet.Nodes]);
            await traffic.WaitForAnswersAsync(TrafficLoop.Now(), 100);
            var killed = TrafficLoop.Now();
            await a.KillAsync();
            var failovers = await Task.WhenAll(new[] { (Node: n1, To: b), (Node: n2, To: c) }.Select(async move =>
            {
                await Eventually.WaitAsync($"{move.Node.NodeId} connected to {move.To.Process.Name}", () => move.Node.ConnectedToAsync(move.To.GrpcAddress), TimeSpan.FromSeconds(15));
                return (move.Node.NodeId, Elapsed: Stopwatch.GetElapsedTime(killed));
            }));
            foreach (var (node, elapsed) in failovers)
            {
                TestContext.Current.TestOutputHelper?.WriteLine($"{node}: moved {elapsed.TotalMilliseconds:0} ms after cp-a was killed");
            }
            await traffic.WaitForAnswersAsync(killed, 300);

            // Each survivor's fleet view: every node, on the replica that holds it now.
            foreach (var survivor in new[] { b, c })
            {
                await Eventually.WaitAsync($"{survivor.Process.Name}'s fleet view showing the nodes where they are", async () =>
                {
                    var view = await survivor.FleetAsync();
                    return view.ControlPlaneId(n1.NodeId) == "cp-b" && view.ControlPlaneId(n2.NodeId) == "cp-c"
                        && view.ControlPlaneId(n3.NodeId) == "cp-b" && view.ControlPlaneId(n4.NodeId) == "cp-c";
                });
            }
            // A change through either survivor reaches all three nodes.
            await b.ChangeAsync("RoutingPolicy", fleet.NodeIds, () => b.SetPolicyAsync(Image, "least_conn"));
            var weights = new Dictionary<string, int> { [ids[0]] = 2, [ids[1]] = 1, [ids[2]] = 1 };
            await c.ChangeAsync("RoutingPolicy", fleet.NodeIds, () => c.SetPolicyAsync(Image, "weighted_rr", weights));
            await traffic.StopAsync();

            Assert.All(failovers, f => Assert.True(f.Elapsed < FailoverLimit, $"{f.NodeId} took {f.Elapsed.TotalMilliseconds:0} ms to move (limit {FailoverLimit.TotalMilliseconds:0} ms)"));
            Assert.True(await n3.ConnectedToAsync(b.GrpcAddress), "node 3 stayed on cp-b");
            Assert.True(await n4.ConnectedToAsync(c.GrpcAddress), "node 4 stayed on cp-c");
            Assert.All(traffic.Answers, x => Assert.Equal(HttpStatusCode.OK, x.Answer.Status));
            Assert.All(fleet.NodeIds, id => Assert.Contains(traffic.Answers, x => x.At >= killed && x.NodeId == id));
            foreach (var node in fleet.Nodes)
            {
                await ReplicaKillTests.AssertWeightedAsync(node, Image);
            }
        });
    }
}
