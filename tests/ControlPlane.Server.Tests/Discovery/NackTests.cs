using ControlPlane.Api.V1;
using ControlPlane.Server.Fleet;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>
/// A rejected version keeps the node on its last accepted one, is recorded, is not sent again, and a
/// fix goes through. Most run over the in-memory transport (exact ordering); <see cref="OverGrpc_ANackReachesTheServer"/>
/// shows a NACK's error_detail (google.rpc.Status of Google.Api.CommonProtos, older generated code)
/// crossing the real gRPC runtime.
/// </summary>
public sealed class NackTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;

    /// <summary>The node refuses any endpoint on port 6666.</summary>
    private static FakeNodeOptions Picky() => new()
    {
        Reject = r => EndpointSet.Parser.ParseFrom(r.Resource_.Value).Endpoints.FirstOrDefault(e => e.Port == 6666) is { } bad
            ? $"endpoint_set[{r.Name}].endpoints[{bad.InstanceId}].port: 6666 is reserved"
            : null,
    };

    /// <summary>Waits until node-1 has acknowledged the current version, then asserts the view says SYNCED with no rejection.</summary>
    private static async Task AssertSyncedAsync(DiscoveryHost host, string what)
    {
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ AwaitingAck: false } t] }] && t.VersionAcked == t.VersionCurrent, what);
        var synced = Assert.Single(host.Streams.ForNode("node-1")).Types[0];
        Assert.Equal((SyncState.Synced, "", null), (SyncStates.Of(synced), synced.VersionRejected, synced.RejectionError));
    }

    [Fact]
    public async Task Delta_NackThenFix()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("i1", "img.a", 8081);
        await using var node = await FakeDeltaNode.ConnectInMemoryAsync(host, "node-1", Picky());
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "img.a");
        var good = node.Versions(Endpoints)["img.a"];
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ AwaitingAck: false, VersionAcked.Length: > 0 }] }], "the ACK");
        var goodSystemVersion = Assert.Single(host.Streams.ForNode("node-1")).Types[0].VersionAcked;

        await host.RegisterAsync("i2", "img.a", 6666);
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ RejectionError: not null }] }], "the NACK to be recorded");
        var rejected = Assert.Single(host.Streams.ForNode("node-1")).Types[0];
        Assert.Equal(good, node.Versions(Endpoints)["img.a"]); // the node stays on its last accepted version
        Assert.Equal(goodSystemVersion, rejected.VersionAcked);
        Assert.NotEqual(rejected.VersionAcked, rejected.VersionRejected);
        Assert.Contains("6666 is reserved", rejected.RejectionError!.Message, StringComparison.Ordinal);
        Assert.NotNull(rejected.RejectedAt);
        Assert.NotEqual(rejected.VersionCurrent, rejected.VersionAcked); // not in sync: the fleet view shows NACKED
        Assert.Contains(host.Logs.Records, r => r.EventId.Id == 4012);

        // Another change to the type: the rejected img.a is not sent again (the fake node would flag it).
        var responses = node.Received.Count;
        await host.RegisterAsync("b1", "img.b", 8082);
        await node.WaitUntilAsync(() => node.Versions(Endpoints).ContainsKey("img.b"), "img.b");
        Assert.All(node.Received.Skip(responses), r => Assert.DoesNotContain(r.Resources, x => x.Name == "img.a"));
        // The ACK of img.b does not hide the NACK: img.a is still at the version the node rejected.
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ AwaitingAck: false } t] }] && t.VersionAcked != goodSystemVersion, "the ACK of img.b");
        var stillRejected = Assert.Single(host.Streams.ForNode("node-1")).Types[0];
        Assert.Equal((SyncState.Nacked, rejected.VersionRejected), (SyncStates.Of(stillRejected), stillRejected.VersionRejected));
        Assert.Contains("6666 is reserved", stillRejected.RejectionError!.Message, StringComparison.Ordinal);

        // The fix: i2 moves to a valid port; the node accepts the new version.
        await host.RegisterAsync("i2", "img.a", 8082 + 1);
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "the fixed img.a");
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ VersionRejected: "", AwaitingAck: false } t] }] && t.VersionAcked == t.VersionCurrent, "the ACK of the fix");
        var synced = Assert.Single(host.Streams.ForNode("node-1")).Types[0];
        Assert.Null(synced.RejectionError);
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task Delta_ContentGoingBackToTheAcceptedVersion_AfterANack_SendsNothing()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("i1", "img.a", 8081);
        await using var node = await FakeDeltaNode.ConnectInMemoryAsync(host, "node-1", Picky());
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "img.a");
        await host.RegisterAsync("i2", "img.a", 6666);
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ RejectionError: not null }] }], "the NACK");
        var responses = node.Received.Count;

        // Removing the bad instance brings back exactly the version the node kept: nothing to send for img.a.
        await host.DeregisterAsync("i2");
        await host.RegisterAsync("b1", "img.b", 8082);
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "img.b and the original img.a");
        Assert.All(node.Received.Skip(responses), r => Assert.DoesNotContain(r.Resources, x => x.Name == "img.a"));
        // In sync again: the rejected version is no longer what the cache holds, so the view says SYNCED.
        await AssertSyncedAsync(host, "the ACK of img.b");
        node.AssertNoViolations();
    }

    /// <summary>
    /// A rejection holds only while the node keeps the version it fell back to: once the resource is
    /// removed from the node, a re-created resource is sent even at the version once rejected (xDS
    /// "Knowing When a Requested Resource Does Not Exist": a resource that comes into existence later
    /// is sent). Versions are content hashes, so re-creating the same content gives the same version.
    /// </summary>
    [Fact]
    public async Task Delta_TheGoodResourcesOfARejectedResponse_AreSentOnceTheBadOneChanges()
    {
        // A node rejects a response as a whole: img.a is fine, img.b carries the reserved port.
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        await host.RegisterAsync("b1", "img.b", 6666);
        await using var node = await FakeDeltaNode.ConnectInMemoryAsync(host, "node-1", Picky());
        await node.SubscribeAsync(Endpoints, "*");
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ RejectionError: not null, AwaitingAck: false }] }], "the NACK");
        Assert.Empty(node.Versions(Endpoints));

        // The bad one goes away: the node is sent its removal, and img.a, which it never got, again.
        await host.DeregisterAsync("b1");

        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "img.a");
        Assert.Equal(["img.a"], node.Versions(Endpoints).Keys);
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ AwaitingAck: false } t] }] && t.VersionAcked == t.VersionCurrent, "the ACK");
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Delta_AResourceRecreatedAtARejectedVersion_AfterItsRemoval_IsSent(bool wildcard)
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("i1", "img.a", 8081);
        var options = Picky();
        await using var node = await FakeDeltaNode.ConnectInMemoryAsync(host, "node-1", options);
        string[] subscription = wildcard ? ["*"] : ["img.a", "img.b"];
        await node.SubscribeAsync(Endpoints, subscription);
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "img.a");
        await host.RegisterAsync("i1", "img.a", 6666);
        var rejected = host.VersionOf(Endpoints, "img.a");
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ RejectionError: not null, AwaitingAck: false }] }], "the NACK");

        // Deleted: the node drops img.a and holds nothing for it.
        await host.DeregisterAsync("i1");
        await node.WaitUntilAsync(() => !node.Versions(Endpoints).ContainsKey("img.a"), "the removal of img.a");
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ AwaitingAck: false, ResourceCount: 0 }] }], "the ACK of the removal");

        // Re-created with exactly the content the node once rejected (which it would take now).
        options.Reject = null;
        await host.RegisterAsync("i1", "img.a", 6666);
        Assert.Equal(rejected, host.VersionOf(Endpoints, "img.a"));
        // A later change: once the node has it, the server has answered the re-creation too.
        await host.RegisterAsync("b1", "img.b", 8082);
        await node.WaitUntilAsync(() => node.Versions(Endpoints).ContainsKey("img.b"), "img.b");

        Assert.Equal(rejected, node.Versions(Endpoints).GetValueOrDefault("img.a"));
        await AssertSyncedAsync(host, "the ACK");
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }

    /// <summary>
    /// The same when the node never held the resource: it rejected img.a when first sent, img.a was
    /// deleted, and the node subscribed to it again and was told it does not exist. Re-created, it is sent.
    /// </summary>
    [Fact]
    public async Task Delta_AResourceRecreatedAtARejectedVersion_AfterTheNodeWasToldItDoesNotExist_IsSent()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("i1", "img.a", 6666);
        var rejected = host.VersionOf(Endpoints, "img.a");
        var options = Picky();
        await using var node = await FakeDeltaNode.ConnectInMemoryAsync(host, "node-1", options);
        await node.SubscribeAsync(Endpoints, "img.a", "img.b");
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ RejectionError: not null, AwaitingAck: false }] }], "the NACK");
        await host.DeregisterAsync("i1");

        await node.SubscribeAsync(Endpoints, "img.a");
        await node.WaitUntilAsync(() => node.Received.Any(r => r.RemovedResources.Contains("img.a")), "img.a does not exist");
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ AwaitingAck: false, QueueDepth: 0 }] }], "the ACK");
        options.Reject = null;
        await host.RegisterAsync("i1", "img.a", 6666);
        Assert.Equal(rejected, host.VersionOf(Endpoints, "img.a"));
        // A later change: once the node has it, the server has answered the re-creation too.
        await host.RegisterAsync("b1", "img.b", 8082);
        await node.WaitUntilAsync(() => node.Versions(Endpoints).ContainsKey("img.b"), "img.b");

        Assert.Equal(rejected, node.Versions(Endpoints).GetValueOrDefault("img.a"));
        node.AssertNoViolations();
    }

    [Fact]
    public async Task Sotw_NackThenFix()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("i1", "img.a", 8081);
        await using var node = await FakeSotwNode.ConnectInMemoryAsync(host, "node-1", Picky());
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "img.a");
        var good = node.AcceptedVersion(Endpoints);

        await host.RegisterAsync("i2", "img.a", 6666);
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ RejectionError: not null }] }], "the NACK to be recorded");
        var rejected = Assert.Single(host.Streams.ForNode("node-1")).Types[0];
        Assert.Equal(good, node.AcceptedVersion(Endpoints));
        Assert.Equal(good, rejected.VersionAcked);
        Assert.Equal(node.Received[^1].VersionInfo, rejected.VersionRejected);

        await host.RegisterAsync("i2", "img.a", 8083);
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "the fixed set");
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ VersionRejected: "", AwaitingAck: false } t] }] && t.VersionAcked == node.AcceptedVersion(Endpoints), "the ACK of the fix");
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task OverGrpc_ANackReachesTheServer()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("i1", "img.a", 6666);
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1", Picky());
        await node.SubscribeAsync(Endpoints, "*");
        // The NACK's error_detail is a google.rpc.Status of Google.Api.CommonProtos (older generated code,
        // framed through protobuf's stream codec): the server must receive and record it.
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ RejectionError: not null }] }], "the NACK to be recorded");
        Assert.Null(node.EndStatus);
        Assert.Contains("6666 is reserved", Assert.Single(host.Streams.ForNode("node-1")).Types[0].RejectionError!.Message, StringComparison.Ordinal);
    }
}
