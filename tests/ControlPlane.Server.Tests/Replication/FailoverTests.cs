using ControlPlane.Grpc.Client;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;

namespace ControlPlane.Server.Tests.Replication;

/// <summary>
/// A node that fails over from one replica to another resumes its delta stream with the versions it
/// holds: versions are content digests, equal on every replica, so it gets exactly what changed
/// while it moved (removals included) and nothing it already has.
/// </summary>
public sealed class FailoverTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;
    private static readonly string Policies = ResourceTypes.RoutingPolicy;

    [Fact]
    public async Task ANodeMovingFromAToB_GetsOnlyWhatChangedMeanwhile_WithoutStaleOrLeakedResources()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 3);
        var (a, b, c) = (set[0], set[1], set[2]);
        await a.RegisterAsync("a1", "img.a", 8081);
        await a.RegisterAsync("b1", "img.b", 8082);
        await a.RegisterAsync("d1", "img.d", 8084);
        await a.SetPolicyAsync("img.a", """{"algorithm": "least_conn"}""");
        var channel = a.Channel;
        await using var node = await FakeDeltaNode.ConnectAsync(() => channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.SubscribeAsync(Policies, "*");
        await node.WaitUntilAsync(() => node.Versions(Endpoints).Count == 3 && node.Versions(Policies).Count == 1, "everything on a");

        // Replica a goes away; meanwhile, through c: img.b loses its instance, img.c appears, img.d changes, the policy goes.
        await node.CloseStreamAsync();
        await c.DeregisterAsync("b1");
        await c.RegisterAsync("c1", "img.c", 8083);
        await c.RegisterAsync("d1", "img.d", 8084, metadataJson: """{"weight": 7}""");
        await c.Registry.DrainAsync(new Api.V1.DrainInstanceRequest { InstanceId = "a1" }).DefaultTimeout();
        await c.Registry.DrainAsync(new Api.V1.DrainInstanceRequest { InstanceId = "a1", Resume = true }).DefaultTimeout(); // back as it was
        await c.DeletePolicyAsync("img.a");
        await b.WaitForCacheAsync(x => x.Snapshot(Endpoints).Find("img.c") is not null && x.Snapshot(Endpoints).Find("img.b") is null
            && Discovery.DiscoveryHost.EndpointsOf(x, "img.d")?.Endpoints[0].Weight == 7 && x.Snapshot(Policies).Count == 0, "c's changes on b");

        channel = b.Channel;
        await node.ReconnectAsync();
        await node.WaitUntilAsync(() => node.ResponsesOnStream(Endpoints) >= 1 && node.ResponsesOnStream(Policies) >= 1, "the answers to the resumed subscriptions");

        var endpoints = node.Received.Last(r => r.TypeUrl == Endpoints);
        Assert.Equal(["img.c", "img.d"], endpoints.Resources.Select(r => r.Name)); // img.a is unchanged: not resent
        Assert.Equal(["img.b"], endpoints.RemovedResources);
        Assert.Equal("cp-b", endpoints.ControlPlaneId);
        var policies = node.Received.Last(r => r.TypeUrl == Policies);
        Assert.Empty(policies.Resources);
        Assert.Equal(["img.a"], policies.RemovedResources);
        Assert.True(node.HoldsCurrent(b.Cache, Endpoints) && node.HoldsCurrent(b.Cache, Policies));
        node.AssertNoViolations();
    }

    [Fact]
    public async Task ANodeMovingWhileNothingChanged_IsAnsweredWithNothing()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 2);
        var (a, b) = (set[0], set[1]);
        await a.RegisterAsync("a1", "img.a", 8081);
        await a.RegisterAsync("b1", "img.b", 8082);
        await b.WaitForCacheAsync(x => x.Snapshot(Endpoints).Count == 2, "both images on b");
        GrpcChannel channel = a.Channel;
        await using var node = await FakeDeltaNode.ConnectAsync(() => channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Versions(Endpoints).Count == 2, "both images on a");

        await a.StopAsync(); // the node's stream ends with the replica
        await node.WaitForEndAsync();
        channel = b.Channel;
        await node.ReconnectAsync();
        await node.WaitUntilAsync(() => node.ResponsesOnStream(Endpoints) == 1, "b's answer");

        var first = node.Received[^1];
        Assert.Empty(first.Resources);
        Assert.Empty(first.RemovedResources);
        Assert.Equal(b.Cache.Snapshot(Endpoints).Version, first.SystemVersionInfo);
        node.AssertNoViolations();
    }
}
