using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>Registry changes reach subscribed nodes, on both variants, with the protocol rules checked on every response.</summary>
public sealed class PushTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;

    [Fact]
    public async Task Delta_RegisteringAnInstance_PushesTheEndpointSet_AndDeregisteringRemovesIt()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.ResponsesOnStream(Endpoints) == 1, "the answer to the first request");
        Assert.Empty(node.Versions(Endpoints));

        await host.RegisterAsync("i1", "img.video", 8080);
        await node.WaitUntilAsync(() => node.Endpoints("img.video") is not null, "the endpoint set of img.video");
        var set = node.Endpoints("img.video")!;
        Assert.Equal("i1", Assert.Single(set.Endpoints).InstanceId);
        Assert.Equal(8080, set.Endpoints[0].Port);
        Assert.Equal(host.VersionOf(Endpoints, "img.video"), node.Versions(Endpoints)["img.video"]);

        await host.DeregisterAsync("i1");
        await node.WaitUntilAsync(() => node.Versions(Endpoints).Count == 0, "the removal of img.video");
        Assert.Contains(node.Received, r => r.RemovedResources.Contains("img.video"));
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ReRegisteringTheSameMetadata_InAnotherKeyOrder_IsTheSameContent_AndPushesNothing()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("i1", "img.video", 8080, """{"zone": "a", "weight": 2, "tags": {"b": 1, "a": [{"y": 1, "x": 2}]}}""");
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "img.video");
        var version = host.VersionOf(Endpoints, "img.video");

        await host.RegisterAsync("i1", "img.video", 8080, """{"tags": {"a": [{"x": 2, "y": 1}], "b": 1}, "weight": 2, "zone": "a"}""");
        // A marker change after it: once the node has img.marker, img.video's re-registration has been through the cache.
        await host.RegisterAsync("m1", "img.marker", 8081);
        await node.WaitUntilAsync(() => node.Versions(Endpoints).ContainsKey("img.marker"), "img.marker");

        Assert.Equal(version, host.VersionOf(Endpoints, "img.video"));
        Assert.Equal(1, node.Received.Count(r => r.Resources.Any(x => x.Name == "img.video")));
        Assert.Equal("""{ "tags": { "a": [ { "x": 2, "y": 1 } ], "b": 1 }, "weight": 2, "zone": "a" }""", node.Endpoints("img.video")!.Endpoints[0].Metadata.ToString());
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task Sotw_RegisteringAnInstance_PushesTheWholeSet()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        await using var node = await FakeSotwNode.ConnectAsync(host.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "img.a");

        await host.RegisterAsync("b1", "img.b", 8082);
        await node.WaitUntilAsync(() => node.Versions(Endpoints).Count == 2 && node.HoldsCurrent(host.Cache, Endpoints), "img.a and img.b");
        // State of the world: the second response carried img.a again, unchanged, with img.b.
        Assert.Equal(["img.a", "img.b"], node.Received[^1].Resources.Select(r => r.Name));
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task InstancesAllExpired_TheSetIsPushedWithoutEndpoints_AndRemovedWithTheLastRecord_OnBothVariants()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.Registry.RegisterAsync(new Api.V1.RegisterRequest { InstanceId = "i1", Name = "svc", Image = "img.video", Host = "10.0.0.1", Port = 8080, TtlSeconds = 10 }).DefaultTimeout();
        await host.WaitForCacheAsync(c => DiscoveryHost.EndpointsOf(c, "img.video")?.Endpoints.Count == 1, "i1 in img.video");
        await using var delta = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1");
        await using var sotw = await FakeSotwNode.ConnectAsync(host.Channel, "node-2");
        await delta.SubscribeAsync(Endpoints, "*");
        await sotw.SubscribeAsync(Endpoints, "*");
        await delta.WaitUntilAsync(() => delta.Endpoints("img.video")?.Endpoints.Count == 1, "img.video with i1");
        await sotw.WaitUntilAsync(() => sotw.Versions(Endpoints).Count == 1 && sotw.HoldsCurrent(host.Cache, Endpoints), "img.video with i1");

        // The lease ends: i1 is expired, its record retained (60 s). The image is still known, with no
        // endpoint, so nodes answer 503 no_routable_endpoint for it rather than 404.
        host.Clock.Advance(TimeSpan.FromSeconds(10));
        await host.WaitForCacheAsync(c => DiscoveryHost.EndpointsOf(c, "img.video")?.Endpoints.Count == 0, "img.video without endpoints");
        await delta.WaitUntilAsync(() => delta.Endpoints("img.video")?.Endpoints.Count == 0, "img.video without endpoints");
        await sotw.WaitUntilAsync(() => sotw.HoldsCurrent(host.Cache, Endpoints), "img.video without endpoints");
        Assert.Equal(["img.video"], sotw.Versions(Endpoints).Keys);
        Assert.DoesNotContain(delta.Received, r => r.RemovedResources.Contains("img.video"));

        // The retention ends: the last record is removed, and the set with it.
        host.Clock.Advance(TimeSpan.FromSeconds(60));
        await host.WaitForCacheAsync(c => c.Snapshot(Endpoints).Find("img.video") is null, "img.video removed");
        await delta.WaitUntilAsync(() => delta.Versions(Endpoints).Count == 0, "the removal of img.video");
        await sotw.WaitUntilAsync(() => sotw.Versions(Endpoints).Count == 0, "the removal of img.video");
        Assert.Contains(delta.Received, r => r.RemovedResources.Contains("img.video"));
        delta.AssertNoViolations();
        sotw.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }
}
