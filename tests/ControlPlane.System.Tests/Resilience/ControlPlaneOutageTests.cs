using ControlPlane.TestCommon;
using System.Net;
using ControlPlane.System.Tests.Infrastructure;

namespace ControlPlane.System.Tests.Resilience;

/// <summary>
/// The control plane killed: nodes keep serving what they hold, with zero errors; a node restarted
/// during the outage serves its last-known-good config, policies included. Runs its own control
/// plane and nodes (the shared ones must survive the test).
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class ControlPlaneOutageTests(Platform platform)
{
    private const string Image = "img.outage";

    [Fact]
    public async Task ControlPlaneKilled_NodesKeepServing_AndARestartedNodeServesFromLastKnownGood()
    {
        var controlPlane = await ControlPlaneProcess.StartAsync();
        await using var _ = controlPlane;
        var nodeA = await DataplaneNode.StartAsync("outage-a", controlPlane.GrpcAddress, platform.StateDirectory("outage-a"));
        var nodeB = await DataplaneNode.StartAsync("outage-b", controlPlane.GrpcAddress, platform.StateDirectory("outage-b"));
        try
        {
            await Scenario.RunAsync(() => [controlPlane.Process, nodeA.Process, nodeB.Process, .. platform.Processes], async () =>
            {
                string[] nodes = [nodeA.NodeId, nodeB.NodeId];
                var ids = platform.Backends.Select(b => "out-" + b.InstanceId).ToArray();
                await controlPlane.ChangeAsync("EndpointSet", nodes, () => Task.WhenAll(platform.Backends.Select((b, i) => controlPlane.RegisterAsync(Image, ids[i], b))));
                await controlPlane.ChangeAsync("RoutingPolicy", nodes, () => controlPlane.SetPolicyAsync(Image, "weighted_rr", new Dictionary<string, int> { [ids[0]] = 2, [ids[1]] = 1, [ids[2]] = 1 }));
                foreach (var node in new[] { nodeA, nodeB })
                {
                    await Platform.WaitRoutedAsync(node, Image, ["b1", "b2", "b3"]);
                }

                await using (var traffic = new TrafficLoop(Image, nodeA, nodeB))
                {
                    await traffic.WaitForAnswersAsync(TrafficLoop.Now(), 50);
                    await controlPlane.KillAsync();
                    var killed = TrafficLoop.Now();
                    foreach (var node in new[] { nodeA, nodeB })
                    {
                        await Eventually.WaitAsync($"{node.NodeId} to notice the control plane is gone", async () =>
                            MetricSamples.Get(await node.MetricsAsync(), $"controlplane_dataplane_control_plane_connected{{address=\"{controlPlane.GrpcAddress}\"}}") == 0);
                    }
                    // Per node: on a busy machine one node's loop can fall behind the other's.
                    await traffic.WaitForAnswersFromEachAsync(TrafficLoop.Now(), 150, nodes);
                    await traffic.StopAsync();

                    Assert.All(traffic.Answers, a => Assert.Equal(HttpStatusCode.OK, a.Answer.Status)); // zero errors
                    Assert.All(nodes, id => Assert.True(traffic.Answers.Count(a => a.At >= killed && a.NodeId == id) >= 100, $"{id} served through the outage"));
                }

                // Killed once the configuration in use is on disk (written off the stream, at most once per
                // LastKnownGoodWriteInterval: a node killed sooner restarts with the one before), then
                // restarted while no control plane answers: after LastKnownGoodAfter it serves its file.
                await Eventually.WaitAsync($"{nodeB.NodeId} to write the configuration in use", async () =>
                {
                    var written = await nodeB.MetricsAsync();
                    return MetricSamples.Get(written, "controlplane_dataplane_last_known_good_write_timestamp_seconds")
                        >= MetricSamples.Get(written, "controlplane_dataplane_config_last_change_timestamp_seconds");
                });
                nodeB = await nodeB.RestartAsync();
                var metrics = await nodeB.MetricsAsync();
                Assert.Equal(1, MetricSamples.Get(metrics, "controlplane_dataplane_config_last_known_good"));
                Assert.Equal(0, MetricSamples.Get(metrics, $"controlplane_dataplane_control_plane_connected{{address=\"{controlPlane.GrpcAddress}\"}}"));
                var counts = new Dictionary<string, int>(StringComparer.Ordinal);
                for (var i = 0; i < 400; i++)
                {
                    var answer = await nodeB.GetAsync(Image);
                    Assert.Equal(HttpStatusCode.OK, answer.Status);
                    counts[answer.Instance!] = counts.GetValueOrDefault(answer.Instance!) + 1;
                }
                // The policy came back from the file too: weighted 2:1:1, not round robin (±5 % of the requests).
                Assert.InRange(counts.GetValueOrDefault("b1"), 180, 220);
                Assert.InRange(counts.GetValueOrDefault("b2"), 80, 120);
                Assert.InRange(counts.GetValueOrDefault("b3"), 80, 120);
            });
        }
        finally
        {
            await nodeA.DisposeAsync();
            await nodeB.DisposeAsync();
        }
    }
}
