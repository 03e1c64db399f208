using System.Net;
using System.Text.Json;
using ControlPlane.System.Tests.Infrastructure;

namespace ControlPlane.System.Tests.Registry;

/// <summary>
/// An instance whose heartbeats stop expires at the end of its lease, and traffic leaves it without a
/// single error; an image left with only expired instances is answered 503 (it exists, with no usable
/// endpoint) until their records are gone, then 404.
/// </summary>
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

    [Fact]
    public Task ImageWhoseInstancesAllExpired_Is503NoRoutableEndpoint_Then404OnceItsRecordsAreGone() => Scenario.RunAsync(() => platform.Processes, async () =>
    {
        await using var ids = await platform.RegisterAsync("img.lapsed", "lapsed", [platform.Backends[0]], ttlSeconds: 3, keepAlive: true);
        var only = ids[0];

        await platform.ControlPlane.ChangeAsync("EndpointSet", platform.NodeIds, () =>
        {
            platform.Heartbeats.Stop(only);
            return Task.CompletedTask;
        });

        // Expired, its record retained: the image still exists, with no usable endpoint.
        Assert.Equal("expired", await platform.ControlPlane.InstanceStatusAsync(only));
        foreach (var node in platform.Nodes)
        {
            AssertError(await node.GetAsync("img.lapsed"), HttpStatusCode.ServiceUnavailable, "no_routable_endpoint");
        }

        // Its last record gone (deregistered here; removal after the retention is the same change): unknown.
        await platform.ControlPlane.ChangeAsync("EndpointSet", platform.NodeIds, () => platform.ControlPlane.DeregisterAsync(only));
        foreach (var node in platform.Nodes)
        {
            AssertError(await node.GetAsync("img.lapsed"), HttpStatusCode.NotFound, "not_found");
        }
    });

    private static void AssertError(ProxyAnswer answer, HttpStatusCode status, string code)
    {
        Assert.Equal(status, answer.Status);
        using var body = JsonDocument.Parse(answer.Body);
        Assert.Equal(code, body.RootElement.GetProperty("error").GetProperty("code").GetString());
    }
}
