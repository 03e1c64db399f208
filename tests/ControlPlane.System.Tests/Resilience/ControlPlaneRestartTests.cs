using System.Net;
using ControlPlane.System.Tests.Infrastructure;
using ControlPlane.TestCommon;

namespace ControlPlane.System.Tests.Resilience;

/// <summary>
/// The control plane restarted in place on the embedded store, which starts empty: nodes that hold
/// configuration keep serving it (the new process refuses their resume with store_warming for
/// RestartHold) while instances register again, and then resume with nothing lost: zero errors.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class ControlPlaneRestartTests(Platform platform)
{
    private const string Image = "img.restart";

    [Fact]
    public async Task ControlPlaneRestartedEmpty_NodesKeepServing_UntilInstancesRegisterAgain()
    {
        var settings = new Dictionary<string, string> { ["ControlPlane__Discovery__RestartHold"] = "00:00:05" };
        var controlPlane = await ControlPlaneProcess.StartAsync("controlplane-restart", settings);
        await using var _ = controlPlane;
        await using var node = await DataplaneNode.StartAsync("restart-a", controlPlane.GrpcAddress, platform.StateDirectory("restart-a"));
        var backend = platform.Backends[0];
        await controlPlane.ChangeAsync("EndpointSet", [node.NodeId], () => controlPlane.RegisterAsync(Image, "rst-b1", backend));
        await Platform.WaitRoutedAsync(node, Image, [backend.InstanceId]);

        await using var traffic = new TrafficLoop(Image, node);
        await traffic.WaitForAnswersAsync(TrafficLoop.Now(), 20);
        await controlPlane.KillAsync();
        await using var restarted = await controlPlane.RestartAsync();
        // The node tries the new process, holding configuration from the old one: asked to keep it.
        await Eventually.WaitAsync("the node's resume to be refused with store_warming", () => node.Process.Lines.Any(l => l.Contains("instances are registering again", StringComparison.Ordinal)));
        var refusedAt = TrafficLoop.Now();
        await traffic.WaitForAnswersAsync(refusedAt, 20);

        // The instance's agent registers again (its heartbeat was answered not found); the hold ends and the node resumes.
        await restarted.RegisterAsync(Image, "rst-b1", backend);
        await Eventually.WaitAsync("the node to resume on the restarted control plane", () => node.ConnectedToAsync(restarted.GrpcAddress));
        await traffic.WaitForAnswersAsync(TrafficLoop.Now(), 20);
        await traffic.StopAsync();

        Assert.All(traffic.Answers, a => Assert.Equal(HttpStatusCode.OK, a.Answer.Status)); // nothing lost: zero errors across the restart
        Assert.True((await restarted.FleetAsync()).Synced(node.NodeId, "EndpointSet"));
    }
}
