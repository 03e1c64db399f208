using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;

namespace ControlPlane.Dataplane.Tests.Forwarder;

/// <summary>Whatever happens to requests, the node's in-flight bookkeeping returns to zero.</summary>
public sealed class LeakTests
{
    [Fact]
    public async Task AfterEveryKindOfEnding_NothingIsLeftInFlight()
    {
        await using var live = await TestBackend.StartAsync("live");
        await using var node = await DataplaneFixture.StartAsync(null, "--Dataplane:Forwarder:ActivityTimeout=00:00:00.200", "--Dataplane:PassiveHealth:Enabled=false");
        var set = new EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("dead", ErrorAnswerTests.ClosedPort()));
        set.Endpoints.Add(DataplaneFixture.EndpointOf("live", live.Port));
        node.Config.Update(new ImageConfig("img", set), new ImageConfig("empty", new EndpointSet { Image = "empty" }));
        using var client = node.CreateClient();

        for (var i = 0; i < 4; i++)
        {
            (await client.GetAsync("/g/img/x").DefaultTimeout()).Dispose();                                   // retried around the dead one
            (await client.PostAsync("/g/img/upload", new StringContent("body")).DefaultTimeout()).Dispose();  // 502 or 200
            (await client.GetAsync("/g/img/status/500").DefaultTimeout()).Dispose();
            (await client.GetAsync("/g/empty/x").DefaultTimeout()).Dispose();
        }
        (await client.GetAsync("/g/img/hang").DefaultTimeout()).Dispose();                                   // 504
        var gated = await client.GetAsync("/g/img/gated", HttpCompletionOption.ResponseHeadersRead).DefaultTimeout();
        gated.Dispose();                                                                                         // client leaves mid-body
        await live.Aborted.Task.DefaultTimeout();
        var routes = node.Config.Current.Images.Values.ToList();

        await node.StopAsync();

        foreach (var route in routes)
        {
            Assert.All(route.States, s => Assert.Equal(0, s.Outstanding));
            Assert.Equal(0, route.RetryBudget.ActiveRequests);
            Assert.Equal(0, route.RetryBudget.ActiveRetries);
        }
    }
}
