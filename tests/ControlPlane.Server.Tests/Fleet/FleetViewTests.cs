using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery;
using ControlPlane.Server.Tests.Discovery.Fakes;

namespace ControlPlane.Server.Tests.Fleet;

/// <summary>The fleet sync view: what each node was sent, acknowledged and rejected, and its state.</summary>
public sealed class FleetViewTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;
    private static readonly Method<ListDataplanesRequest, ListDataplanesResponse> List = new(DataplanesReflection.Descriptor.Services[0].FindMethodByName("ListDataplanes"));
    private static readonly Method<GetDataplaneRequest, GetDataplaneResponse> Get = new(DataplanesReflection.Descriptor.Services[0].FindMethodByName("GetDataplane"));

    [Fact]
    public async Task ASyncedNode_IsListedWithWhatItAcknowledged()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("i1", "img.a", 8081);
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ AwaitingAck: false, VersionAcked.Length: > 0 }] }], "the ACK");

        var listed = await host.Channel.AsyncUnaryCall(List, new ListDataplanesRequest()).ResponseAsync.DefaultTimeout();

        var status = Assert.Single(listed.Dataplanes);
        Assert.Equal("node-1", status.Node.Id);
        Assert.Equal("eu-central-1a", status.Node.Zone);
        Assert.Equal(SyncState.Synced, status.State);
        Assert.Equal("cp-test", status.ControlPlaneId);
        Assert.Equal("delta", status.StreamKind);
        Assert.NotNull(status.ConnectedSince);
        var type = Assert.Single(status.ResourceTypes);
        Assert.Equal(Endpoints, type.TypeUrl);
        Assert.Equal(SyncState.Synced, type.State);
        Assert.True(type.Wildcard);
        Assert.Equal(type.VersionCurrent, type.VersionAcked);
        Assert.Equal(type.VersionSent, type.VersionAcked);
    }

    [Fact]
    public async Task ANackingNode_IsNacked_WithItsError()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("i1", "img.a", 6666);
        var picky = new FakeNodeOptions
        {
            Reject = r => EndpointSet.Parser.ParseFrom(r.Resource_.Value).Endpoints.Any(e => e.Port == 6666) ? "port 6666 is reserved" : null,
        };
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1", picky);
        await node.SubscribeAsync(Endpoints, "*");
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ RejectionError: not null }] }], "the NACK");

        var status = (await host.Channel.AsyncUnaryCall(Get, new GetDataplaneRequest { NodeId = "node-1" }).ResponseAsync.DefaultTimeout()).Dataplane;

        Assert.Equal(SyncState.Nacked, status.State);
        var type = Assert.Single(status.ResourceTypes);
        Assert.Equal(SyncState.Nacked, type.State);
        Assert.Equal("port 6666 is reserved", type.RejectionError.Message);
        Assert.Equal(type.VersionSent, type.VersionRejected);
        var nacked = await host.Channel.AsyncUnaryCall(List, new ListDataplanesRequest { State = SyncState.Nacked }).ResponseAsync.DefaultTimeout();
        Assert.Single(nacked.Dataplanes);
        var synced = await host.Channel.AsyncUnaryCall(List, new ListDataplanesRequest { State = SyncState.Synced }).ResponseAsync.DefaultTimeout();
        Assert.Empty(synced.Dataplanes);
    }

    /// <summary>
    /// Delta: the node rejects img.a, then img.b; img.b is fixed and acknowledged while img.a stays
    /// rejected. The view shows the rejection that still applies (img.a's), not the last NACK's.
    /// </summary>
    [Fact]
    public async Task ADeltaNode_WithTwoRejections_OneFixed_ShowsTheOneThatStillApplies()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        await host.RegisterAsync("b1", "img.b", 8082);
        var picky = new FakeNodeOptions
        {
            Reject = r => EndpointSet.Parser.ParseFrom(r.Resource_.Value).Endpoints.FirstOrDefault(e => e.Port is >= 6660 and < 6670) is { } bad
                ? $"{r.Name} endpoint {bad.InstanceId} invalid"
                : null,
        };
        await using var node = await FakeDeltaNode.ConnectInMemoryAsync(host, "node-1", picky);
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "img.a and img.b");

        await host.RegisterAsync("a2", "img.a", 6666);
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ RejectionError.Message: "img.a endpoint a2 invalid", AwaitingAck: false }] }], "the NACK of img.a");
        var first = Assert.Single(host.Streams.ForNode("node-1")).Types[0];
        host.Clock.Advance(TimeSpan.FromSeconds(5));
        await host.RegisterAsync("b2", "img.b", 6667);
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ RejectionError.Message: "img.b endpoint b2 invalid", AwaitingAck: false }] }], "the NACK of img.b");
        host.Clock.Advance(TimeSpan.FromSeconds(5));
        await host.RegisterAsync("b2", "img.b", 8083);
        await node.WaitUntilAsync(() => node.Endpoints("img.b")?.Endpoints.Any(e => e.InstanceId == "b2" && e.Port == 8083) == true, "the fixed img.b");
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ AwaitingAck: false, QueueDepth: 0 }] }], "the ACK of the fix");

        var status = (await host.Channel.AsyncUnaryCall(Get, new GetDataplaneRequest { NodeId = "node-1" }).ResponseAsync.DefaultTimeout()).Dataplane;

        Assert.Equal(SyncState.Nacked, status.State);
        var type = Assert.Single(status.ResourceTypes);
        Assert.Equal(SyncState.Nacked, type.State);
        Assert.Equal("img.a endpoint a2 invalid", type.RejectionError.Message);
        Assert.Equal(first.VersionRejected, type.VersionRejected);
        Assert.Equal(first.RejectedAt, type.RejectedAt.ToDateTimeOffset());
        node.AssertNoViolations();
    }

    /// <summary>
    /// Two nodes running with one node id: the view speaks for the newest stream and says how many are
    /// open, so the clash shows (a reconnect's overlap lasts a moment; this lasts).
    /// </summary>
    [Fact]
    public async Task TwoNodesWithOneId_AreListedAsTheNewest_WithTheirCountOfOpenStreams()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("i1", "img.a", 8081);
        await using var first = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1", new FakeNodeOptions { Zone = "zone-a" });
        await first.SubscribeAsync(Endpoints, "*");
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ AwaitingAck: false, VersionAcked.Length: > 0 }] }], "the first node's ACK");
        var second = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1", new FakeNodeOptions { Zone = "zone-b" });
        await second.SubscribeAsync(Endpoints, "*");
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [_, { Types: [{ AwaitingAck: false, VersionAcked.Length: > 0 }] }], "the second node's ACK");

        var listed = Assert.Single((await host.Channel.AsyncUnaryCall(List, new ListDataplanesRequest()).ResponseAsync.DefaultTimeout()).Dataplanes);
        var got = (await host.Channel.AsyncUnaryCall(Get, new GetDataplaneRequest { NodeId = "node-1" }).ResponseAsync.DefaultTimeout()).Dataplane;
        Assert.All(new[] { listed, got }, s => Assert.Equal(("zone-b", 2, SyncState.Synced), (s.Node.Zone, s.OpenStreams, s.State)));

        await second.DisposeAsync();
        await host.WaitForStreamsAsync(s => s.Count == 1, "the second node's stream to close");
        listed = Assert.Single((await host.Channel.AsyncUnaryCall(List, new ListDataplanesRequest()).ResponseAsync.DefaultTimeout()).Dataplanes);
        Assert.Equal(("zone-a", 1, SyncState.Synced), (listed.Node.Zone, listed.OpenStreams, listed.State));

        await first.DisposeAsync();
        await host.WaitForStreamsAsync(s => s.Count == 0, "the first node's stream to close");
        listed = Assert.Single((await host.Channel.AsyncUnaryCall(List, new ListDataplanesRequest()).ResponseAsync.DefaultTimeout()).Dataplanes);
        Assert.Equal(("zone-a", 0, SyncState.Disconnected), (listed.Node.Zone, listed.OpenStreams, listed.State));
    }

    [Fact]
    public async Task ALeavingNode_IsDisconnected_ThenForgottenAfterTheRetention()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("i1", "img.a", 8081);
        var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ AwaitingAck: false, VersionAcked.Length: > 0 }] }], "the ACK");
        await node.DisposeAsync();
        await host.WaitForStreamsAsync(s => s.Count == 0, "the stream to close");

        var status = (await host.Channel.AsyncUnaryCall(Get, new GetDataplaneRequest { NodeId = "node-1" }).ResponseAsync.DefaultTimeout()).Dataplane;
        Assert.Equal(SyncState.Disconnected, status.State);
        Assert.NotNull(status.DisconnectedAt);
        Assert.Null(status.ConnectedSince);
        // What it acknowledged stays on record; nothing says it is still in step.
        var type = Assert.Single(status.ResourceTypes);
        Assert.Equal((SyncState.Disconnected, type.VersionSent), (type.State, type.VersionAcked));
        Assert.Equal(0, status.OpenStreams);

        host.Clock.Advance(TimeSpan.FromMinutes(10));
        var error = await Assert.ThrowsAsync<RpcException>(() => host.Channel.AsyncUnaryCall(Get, new GetDataplaneRequest { NodeId = "node-1" }).ResponseAsync).DefaultTimeout();
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Empty((await host.Channel.AsyncUnaryCall(List, new ListDataplanesRequest()).ResponseAsync.DefaultTimeout()).Dataplanes);
    }

    [Fact]
    public async Task ANodeThatCameAndWentBeforeAnyRequest_IsListedDisconnected()
    {
        // Nothing has asked the registry or the fleet anything yet: the view must exist all the same.
        await using var host = await DiscoveryHost.StartAsync();
        var node = await FakeDeltaNode.ConnectAsync(host.Channel, "early-node");
        await node.SubscribeAsync(Endpoints, "*");
        await host.WaitForStreamsAsync(s => s.ForNode("early-node") is [{ Types: [{ AwaitingAck: false }] }], "the ACK");
        await node.DisposeAsync();
        await host.WaitForStreamsAsync(s => s.Count == 0, "the stream to close");

        var listed = await host.Channel.AsyncUnaryCall(List, new ListDataplanesRequest()).ResponseAsync.DefaultTimeout();

        var status = Assert.Single(listed.Dataplanes);
        Assert.Equal(("early-node", SyncState.Disconnected), (status.Node.Id, status.State));
    }

    [Theory]
    [InlineData("a b")]
    [InlineData("..")]
    [InlineData("n\u00e9")]
    public async Task GetDataplane_ForAnIdNoNodeCanHave_IsInvalidArgument_NotNotFound(string nodeId)
    {
        await using var host = await DiscoveryHost.StartAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() => host.Channel.AsyncUnaryCall(Get, new GetDataplaneRequest { NodeId = nodeId }).ResponseAsync).DefaultTimeout();
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("node_id", Assert.Single(error.Status.FieldViolations()).Field);
    }

    [Theory]
    [InlineData(9)]
    [InlineData(-1)]
    public async Task ListDataplanes_ByAStateSyncStateDoesNotDefine_IsInvalidArgument_AsOverRest(int state)
    {
        await using var host = await DiscoveryHost.StartAsync();
        var error = await Assert.ThrowsAsync<RpcException>(() => host.Channel.AsyncUnaryCall(List, new ListDataplanesRequest { State = (SyncState)state }).ResponseAsync).DefaultTimeout();
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("invalid_request", error.Status.Reason());
        var violation = Assert.Single(error.Status.FieldViolations());
        Assert.Equal("state", violation.Field);
        Assert.Contains("SYNC_STATE_DISCONNECTED", violation.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Topology_ListsConnectedNodes_AndFiltersByZone()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("i1", "img.a", 8081);
        await using var a = await FakeDeltaNode.ConnectAsync(host.Channel, "node-a", new FakeNodeOptions { Zone = "zone-a" });
        await using var b = await FakeDeltaNode.ConnectAsync(host.Channel, "node-b", new FakeNodeOptions { Zone = "zone-b" });
        await a.SubscribeAsync(Endpoints, "*");
        await b.SubscribeAsync(Endpoints, "*");
        await host.WaitForStreamsAsync(s => s.Count == 2, "both streams");

        var topology = await host.Registry.GetTopologyAsync(new GetTopologyRequest()).DefaultTimeout();
        Assert.Equal(["node-a", "node-b"], topology.Dataplanes.Select(d => d.NodeId));
        Assert.Equal("zone-b", topology.Dataplanes[1].Zone);

        var inZoneB = await host.Channel.AsyncUnaryCall(List, new ListDataplanesRequest { Zone = "zone-b" }).ResponseAsync.DefaultTimeout();
        Assert.Equal(["node-b"], inZoneB.Dataplanes.Select(d => d.Node.Id));
    }
}
