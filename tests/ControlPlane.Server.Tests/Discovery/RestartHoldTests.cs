using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Discovery.Streams;
using ControlPlane.Server.Resources;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>
/// The embedded store starts empty after a restart: a node holding configuration from the control
/// plane's earlier start (its store position names another epoch) keeps it, refused with
/// store_warming, for RestartHold, instead of being told to remove every instance that has not
/// registered again yet; nodes without configuration, or with this start's, are served at once.
/// </summary>
public sealed class RestartHoldTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;

    private static readonly Method<DeltaResourcesRequest, DeltaResourcesResponse> Delta =
        new(DiscoveryReflection.Descriptor.Services[0].FindMethodByName("DeltaResources"));

    private static readonly Method<StreamResourcesRequest, StreamResourcesResponse> Sotw =
        new(DiscoveryReflection.Descriptor.Services[0].FindMethodByName("StreamResources"));

    [Fact]
    public async Task ANodeHoldingAnEarlierStartsConfiguration_KeepsIt_UntilTheHoldEnds_ThenGetsTheRemovals()
    {
        await using var host = await DiscoveryHost.StartAsync(o => o.RestartHold = TimeSpan.FromSeconds(30));
        await host.RegisterAsync("a1", "img.a", 8081);
        await host.WaitForCacheAsync(c => c.Snapshot(Endpoints).Count == 1, "img.a");
        var earlier = "embedded-1700000000000-beef:0";
        var held = new Dictionary<string, string> { ["img.a"] = "0123456789abcdef", ["img.gone"] = "fedcba9876543210" };

        foreach (var sotw in new[] { false, true })
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => sotw ? FirstSotwAsync(host, earlier) : FirstDeltaAsync(host, earlier, held));
            Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
            Assert.Equal(StoreFreshness.WarmingReason, refused.Status.Reason());
            Assert.Contains("keep the configuration you hold (store position embedded-1700000000000-beef:0)", refused.Status.Detail, StringComparison.Ordinal);
        }
        Assert.Equal(0, host.Streams.Count);

        // Nodes without configuration, and nodes holding this start's, are served during the hold.
        var fresh = await FirstDeltaAsync(host, "", new Dictionary<string, string>());
        Assert.Equal(["img.a"], fresh.Resources.Select(r => r.Name));
        Assert.Equal(host.Cache.PositionText, fresh.StorePosition);
        Assert.True(StorePosition.TryParse(fresh.StorePosition, out var current) && current.Epoch.StartsWith("embedded-", StringComparison.Ordinal), fresh.StorePosition);
        var resumed = await FirstDeltaAsync(host, fresh.StorePosition, held);
        Assert.Equal(["img.gone"], resumed.RemovedResources);

        host.Clock.Advance(TimeSpan.FromSeconds(30));
        var afterHold = await FirstDeltaAsync(host, earlier, held);
        Assert.Equal(["img.a"], afterHold.Resources.Select(r => r.Name));
        Assert.Equal(["img.gone"], afterHold.RemovedResources);
        Assert.Equal(["img.a"], (await FirstSotwAsync(host, earlier)).Resources.Select(r => r.Name));
    }

    [Fact]
    public async Task ARefusedNode_IsListedDisconnectedWithWhy_UntilItIsServed()
    {
        await using var host = await DiscoveryHost.StartAsync(o => o.RestartHold = TimeSpan.FromSeconds(30));
        await host.RegisterAsync("a1", "img.a", 8081);
        var earlier = "embedded-1700000000000-beef:0";
        var held = new Dictionary<string, string> { ["img.a"] = "0123456789abcdef" };

        await Assert.ThrowsAsync<RpcException>(() => FirstDeltaAsync(host, earlier, held, nodeId: "edge-1", zone: "z1"));
        var refusedAt = host.Clock.GetUtcNow();

        // The fleet view lists it (no replica serves it), with its identity, why and when.
        var listed = Assert.Single(await host.Fleet.ListAsync());
        Assert.Equal("edge-1", listed.Node.Id);
        Assert.Equal("z1", listed.Node.Zone);
        Assert.Equal(SyncState.Disconnected, listed.State);
        Assert.Equal("delta", listed.StreamKind);
        Assert.Empty(listed.ResourceTypes);
        Assert.Null(listed.ConnectedSince);
        Assert.Equal((int)StatusCode.Unavailable, listed.Refusal.Code);
        Assert.Contains("keep the configuration you hold", listed.Refusal.Message, StringComparison.Ordinal);
        Assert.Equal(StoreFreshness.WarmingReason, new Grpc.Status(StatusCode.Unavailable, listed.Refusal.Message, listed.Refusal).Reason());
        Assert.Equal(refusedAt, listed.RefusedAt.ToDateTimeOffset());
        Assert.Equal(listed, await host.Fleet.GetAsync("edge-1"));

        // Served once the hold ends: listed as connected, the refusal gone.
        host.Clock.Advance(TimeSpan.FromSeconds(30));
        using var call = host.Channel.AsyncDuplexStreamingCall(Delta, new CallOptions());
        await call.RequestStream.WriteAsync(DeltaRequest(earlier, held, "edge-1", "z1")).DefaultTimeout();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout());
        var served = Assert.Single(await host.Fleet.ListAsync());
        Assert.NotEqual(SyncState.Disconnected, served.State);
        Assert.Null(served.Refusal);
        Assert.Null(served.RefusedAt);
    }

    [Fact]
    public async Task ANodeRefusedAfterItsLastStream_IsListedWithThatStreamAndTheRefusal()
    {
        await using var host = await DiscoveryHost.StartAsync(o => o.RestartHold = TimeSpan.FromSeconds(30));
        await host.RegisterAsync("a1", "img.a", 8081);
        var fresh = await FirstDeltaAsync(host, "", new Dictionary<string, string>(), nodeId: "edge-1");
        await host.WaitForStreamsAsync(s => s.Count == 0, "the first stream closed");
        var disconnected = Assert.Single(await host.Fleet.ListAsync());
        Assert.Null(disconnected.Refusal);

        // The same node comes back holding configuration from an earlier start of the store.
        await Assert.ThrowsAsync<RpcException>(() => FirstDeltaAsync(host, "embedded-1700000000000-beef:0", new Dictionary<string, string>(), nodeId: "edge-1"));

        var listed = Assert.Single(await host.Fleet.ListAsync());
        Assert.Equal(SyncState.Disconnected, listed.State);
        Assert.Equal(disconnected.ResourceTypes, listed.ResourceTypes);
        Assert.Equal((int)StatusCode.Unavailable, listed.Refusal.Code);
        Assert.NotNull(listed.RefusedAt);
        Assert.Equal(fresh.StorePosition, host.Cache.PositionText);
    }

    [Fact]
    public async Task WithTheHoldOff_ANodeFromAnEarlierStart_IsServedAtOnce()
    {
        await using var host = await DiscoveryHost.StartAsync(o => o.RestartHold = TimeSpan.Zero);
        await host.RegisterAsync("a1", "img.a", 8081);
        await host.WaitForCacheAsync(c => c.Snapshot(Endpoints).Count == 1, "img.a");
        var response = await FirstDeltaAsync(host, "embedded-1700000000000-beef:0", new Dictionary<string, string> { ["img.gone"] = "fedcba9876543210" });
        Assert.Equal(["img.gone"], response.RemovedResources);
    }

    private static DeltaResourcesRequest DeltaRequest(string position, Dictionary<string, string> held, string nodeId, string zone = "")
    {
        var request = new DeltaResourcesRequest { Node = new Node { Id = nodeId, Zone = zone }, TypeUrl = Endpoints, StorePosition = position };
        request.ResourceNamesSubscribe.Add("*");
        request.InitialResourceVersions.Add(held);
        return request;
    }

    private static async Task<DeltaResourcesResponse> FirstDeltaAsync(DiscoveryHost host, string position, Dictionary<string, string> held, string? nodeId = null, string zone = "")
    {
        using var call = host.Channel.AsyncDuplexStreamingCall(Delta, new CallOptions());
        var request = DeltaRequest(position, held, nodeId ?? "node-" + Guid.NewGuid().ToString("N")[..8], zone);
        await call.RequestStream.WriteAsync(request).DefaultTimeout();
        if (!await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
        {
            throw new RpcException(call.GetStatus());
        }
        return call.ResponseStream.Current;
    }

    private static async Task<StreamResourcesResponse> FirstSotwAsync(DiscoveryHost host, string position)
    {
        using var call = host.Channel.AsyncDuplexStreamingCall(Sotw, new CallOptions());
        var request = new StreamResourcesRequest { Node = new Node { Id = "node-" + Guid.NewGuid().ToString("N")[..8] }, TypeUrl = Endpoints, StorePosition = position, VersionInfo = "held" };
        await call.RequestStream.WriteAsync(request).DefaultTimeout();
        if (!await call.ResponseStream.MoveNext(CancellationToken.None).DefaultTimeout())
        {
            throw new RpcException(call.GetStatus());
        }
        return call.ResponseStream.Current;
    }
}
