using ControlPlane.Api.V1;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>
/// Reconnects, the most reported defect of xDS servers: a delta node that comes back with the
/// versions it holds gets exactly what changed while it was away, removals included, and nothing else.
/// </summary>
public sealed class ResumeTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;

    private static async Task<(DiscoveryHost Host, FakeDeltaNode Node)> StartWithNodeHoldingAAndBAsync()
    {
        var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        await host.RegisterAsync("b1", "img.b", 8082);
        var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Versions(Endpoints).Count == 2, "img.a and img.b");
        return (host, node);
    }

    [Fact]
    public async Task InstanceRemovedWhileTheNodeWasAway_ResumeGetsTheRemoval_AndNothingElse()
    {
        var (host, node) = await StartWithNodeHoldingAAndBAsync();
        await using var _ = host;
        await using var __ = node;
        await node.CloseStreamAsync();
        await host.WaitForStreamsAsync(s => s.Count == 0, "the old stream to close");

        await host.DeregisterAsync("b1");
        await host.RegisterAsync("c1", "img.c", 8083);
        await node.ReconnectAsync();
        await node.WaitUntilAsync(() => node.ResponsesOnStream(Endpoints) == 1, "the answer to the resumed subscription");

        var first = node.Received[^1];
        Assert.Equal(["img.c"], first.Resources.Select(r => r.Name));
        Assert.Equal(["img.b"], first.RemovedResources);
        Assert.True(node.HoldsCurrent(host.Cache, Endpoints));
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ResumeWithCurrentVersions_IsAnsweredWithNothing()
    {
        var (host, node) = await StartWithNodeHoldingAAndBAsync();
        await using var _ = host;
        await using var __ = node;
        await node.ReconnectAsync();
        await node.WaitUntilAsync(() => node.ResponsesOnStream(Endpoints) == 1, "the answer to the resumed subscription");

        // The first request after a reconnect is always answered, here with no resources and no removals.
        var first = node.Received[^1];
        Assert.Empty(first.Resources);
        Assert.Empty(first.RemovedResources);
        Assert.Equal(host.Cache.Snapshot(Endpoints).Version, first.SystemVersionInfo);
        node.AssertNoViolations();
    }

    [Fact]
    public async Task ResumeWithUnknownVersions_GetsTheCurrentResources()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        await host.RegisterAsync("b1", "img.b", 8082);
        await host.WaitForCacheAsync(c => c.Snapshot(Endpoints).Count == 2, "img.a and img.b");
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1");

        // A node restarted from a persisted config: it claims versions this server never produced.
        var claimed = new Dictionary<string, string> { ["img.a"] = "0123456789abcdef", ["img.gone"] = "fedcba9876543210", ["img.b"] = host.VersionOf(Endpoints, "img.b")! };
        await node.SubscribeAsync(Endpoints, claimed, "*");
        await node.WaitUntilAsync(() => node.Received.Count == 1, "the answer");

        var first = node.Received[0];
        Assert.Equal(["img.a"], first.Resources.Select(r => r.Name));
        Assert.Equal(host.VersionOf(Endpoints, "img.a"), first.Resources[0].Version);
        Assert.Equal(["img.gone"], first.RemovedResources);
        Assert.True(node.HoldsCurrent(host.Cache, Endpoints));
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ResumeWithoutVersions_GetsEverything()
    {
        var (host, node) = await StartWithNodeHoldingAAndBAsync();
        await using var _ = host;
        await using var __ = node;
        await node.ReconnectAsync(resume: false);
        await node.WaitUntilAsync(() => node.ResponsesOnStream(Endpoints) == 1, "the answer");
        Assert.Equal(["img.a", "img.b"], node.Received[^1].Resources.Select(r => r.Name));
        node.AssertNoViolations();
    }

    [Fact]
    public async Task Sotw_Reconnect_IsAnsweredWithTheFullSet_EvenWhenTheNodeHoldsIt()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        await using var node = await FakeSotwNode.ConnectAsync(host.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "img.a");
        var accepted = node.AcceptedVersion(Endpoints);

        // The first request on the new stream carries the accepted version and a nonce of the old stream.
        await node.ReconnectAsync();
        await node.WaitUntilAsync(() => node.ResponsesOnStream(Endpoints) == 1, "the answer to the first request");
        Assert.Equal(accepted, node.Received[^1].VersionInfo);
        Assert.Equal(["img.a"], node.Received[^1].Resources.Select(r => r.Name));
        node.AssertNoViolations();
    }
}
