using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Server.Discovery.Cache;
using ControlPlane.Server.Discovery.Status;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>What the fleet view reads: per node and type, what was sent, acknowledged and rejected; nothing left once nodes leave.</summary>
public sealed class StreamBookkeepingTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;
    private static readonly string Policies = ResourceTypes.RoutingPolicy;

    [Fact]
    public async Task AConnectedNode_IsDescribedPerType_AndInSyncOnceItAcks()
    {
        var policies = new FakePolicySource();
        policies.Set(new RoutingPolicy { Image = "img.a", Algorithm = "least_conn" });
        await using var host = await DiscoveryHost.StartAsync(policies: policies);
        await host.RegisterAsync("a1", "img.a", 8081);
        var connectedAt = host.Clock.GetUtcNow();
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1", new FakeNodeOptions { Zone = "eu-central-1b" });
        await node.SubscribeAsync(Endpoints, "*");
        await host.WaitForStreamsAsync(s => s.Count == 1, "the stream to open");
        host.Clock.Advance(TimeSpan.FromSeconds(3));
        await node.SubscribeAsync(Policies, "img.a", "img.b");
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints) && node.HoldsCurrent(host.Cache, Policies) && node.Versions(Policies).Count == 1, "both types");
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ AwaitingAck: false }, { AwaitingAck: false }] }], "both ACKs");

        var status = Assert.Single(host.Streams.List());
        Assert.Equal("node-1", status.NodeId);
        Assert.Equal("eu-central-1b", status.Node.Zone);
        Assert.Equal("edge", status.Node.Metadata.Fields["pool"].StringValue);
        Assert.Equal("delta", status.Variant);
        Assert.Equal("cp-test", status.ControlPlaneId);
        Assert.StartsWith("ipv4:127.0.0.1:", status.Peer, StringComparison.Ordinal);
        Assert.Equal(connectedAt, status.ConnectedSince);
        Assert.Equal(connectedAt.AddSeconds(3), status.LastRequestAt);
        Assert.Equal(0, status.QueueDepth);
        Assert.Null(status.BlockedSince);

        Assert.Equal([Endpoints, Policies], status.Types.Select(t => t.TypeUrl));
        var endpoints = status.Types[0];
        Assert.True(endpoints.Wildcard);
        Assert.Empty(endpoints.SubscribedNames);
        Assert.Equal(1, endpoints.ResourceCount);
        Assert.Equal(host.Cache.Snapshot(Endpoints).Version, endpoints.VersionCurrent);
        Assert.Equal(endpoints.VersionCurrent, endpoints.VersionAcked);
        Assert.Equal(endpoints.VersionSent, endpoints.VersionAcked);
        Assert.Equal(node.Received.Last(r => r.TypeUrl == Endpoints).Nonce, endpoints.NonceSent);
        Assert.NotNull(endpoints.SentAt);
        Assert.NotNull(endpoints.AckedAt);
        Assert.Equal("", endpoints.VersionRejected);

        var policy = status.Types[1];
        Assert.False(policy.Wildcard);
        Assert.Equal(["img.a", "img.b"], policy.SubscribedNames);
        Assert.Equal(policy.VersionCurrent, policy.VersionAcked);
        Assert.Equal(connectedAt.AddSeconds(3), policy.SentAt);
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task NodesThatLeave_LeaveNoStreamsWatchesOrEntries_AndTheirLastStateIsReported()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        var finals = new List<DataplaneStreamStatus>();
        host.Streams.Changed += e =>
        {
            if (e.Kind == DataplaneStreamEventKind.Closed)
            {
                lock (finals)
                {
                    finals.Add(e.Final!);
                }
            }
        };
        var delta = await FakeDeltaNode.ConnectAsync(host.Channel, "leaving-delta");
        var sotw = await FakeSotwNode.ConnectAsync(host.Channel, "leaving-sotw");
        var polite = await FakeDeltaNode.ConnectAsync(host.Channel, "half-closing");
        await delta.SubscribeAsync(Endpoints, "*");
        await sotw.SubscribeAsync(Endpoints, "*");
        await polite.SubscribeAsync(Endpoints, "*");
        await delta.WaitUntilAsync(() => delta.HoldsCurrent(host.Cache, Endpoints), "img.a");
        await sotw.WaitUntilAsync(() => sotw.HoldsCurrent(host.Cache, Endpoints), "img.a");
        await polite.WaitUntilAsync(() => polite.HoldsCurrent(host.Cache, Endpoints), "img.a");
        Assert.Equal(3, host.Streams.Count);

        // One half-closes (the call ends OK), the others just go away.
        await polite.CompleteAsync();
        Assert.Equal(StatusCode.OK, (await polite.WaitForEndAsync()).StatusCode);
        await delta.DisposeAsync();
        await sotw.DisposeAsync();
        await host.WaitForStreamsAsync(s => s.Count == 0, "every stream to close");

        Assert.Empty(host.Streams.List());
        Assert.Equal(0, ((ResourceCache)host.Cache).WatchCount);
        lock (finals)
        {
            Assert.Equal(["half-closing", "leaving-delta", "leaving-sotw"], finals.Select(f => f.NodeId).Order(StringComparer.Ordinal));
            Assert.All(finals, f => Assert.Equal(host.Cache.Snapshot(Endpoints).Version, f.Types[0].VersionSent));
        }
        await polite.DisposeAsync();
        host.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task RoutingPolicies_ArePushed_AndRemovedWhenDeleted()
    {
        var policies = new FakePolicySource();
        await using var host = await DiscoveryHost.StartAsync(policies: policies);
        var changes = host.Services.GetRequiredService<ResourceChanges>();
        await using var node = await FakeSotwNode.ConnectAsync(host.Channel, "node-1");
        await node.SubscribeAsync(Policies, "*");
        await node.WaitUntilAsync(() => node.ResponsesOnStream(Policies) == 1, "the first answer");

        policies.Set(new RoutingPolicy { Image = "img.a", Algorithm = "weighted_rr", Weights = { ["i1"] = 3 } });
        changes.PolicyChanged("img.a");
        await node.WaitUntilAsync(() => node.Versions(Policies).ContainsKey("img.a"), "the policy of img.a");
        var resource = node.Received[^1].Resources[0];
        Assert.Equal(3, RoutingPolicy.Parser.ParseFrom(resource.Resource_.Value).Weights["i1"]);

        policies.Delete("img.a");
        changes.PolicyChanged("img.a");
        await node.WaitUntilAsync(() => node.Versions(Policies).Count == 0, "the removal of the policy");
        node.AssertNoViolations();
    }
}
