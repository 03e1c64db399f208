using System.Net;
using ControlPlane.System.Tests.Infrastructure;

namespace ControlPlane.System.Tests.Registry;

/// <summary>An instance whose heartbeats stop expires at the end of its lease, and traffic leaves it without a single error.</summary>
[Collection(SystemCollection.Name)]
public sealed class ExpiryTests(Platform platform)
{
    [Fact]
    public Task InstanceThatStopsHeartbeating_StopsGettingTraffic_WithoutErrors() => Scenario.RunAsync(() => platform.Processes, async () =>
    {
        // A 3 s lease renewed every 250 ms; the instance itself keeps running (it lost its agent, not its process).
        await using var ids = await platform.RegisterAsync("img.exp", "exp", ttlSeconds: 3, keepAlive: true);
        var gone = ids[2];
        await using var traffic = new TrafficLoop("img.exp", platform.Node1, platform.Node2);
        await traffic.WaitForAnswersAsync(TrafficLoop.Now(), 60);
        var stopped = TrafficLoop.Now();

        await platform.ControlPlane.ChangeAsync("EndpointSet", platform.NodeIds, () =>
        {
            platform.Heartbeats.Stop(gone);
            return Task.CompletedTask;
        });
        var pushed = TrafficLoop.Now(); // both nodes have ACKed the endpoint set without it
        await traffic.WaitForAnswersAsync(pushed, 200);
        await traffic.StopAsync();

        Assert.Equal("expired", await platform.ControlPlane.InstanceStatusAsync(gone));
        var answers = traffic.Answers;
        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.Answer.Status)); // no 5xx, before, during or after
        Assert.Contains(answers, a => a.At < stopped && a.Answer.Instance == "b3");
        Assert.DoesNotContain(answers, a => a.At >= pushed && a.Answer.Instance == "b3");
        Assert.All(platform.NodeIds, id => Assert.Contains(answers, a => a.At >= pushed && a.NodeId == id));
        Assert.Empty(platform.Heartbeats.Failures);
    });
}
