using ControlPlane.Api.V1;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>
/// While a node has not answered its last response, changes queue as at most one mark per resource;
/// when it answers, it gets only the latest version of what changed, and nothing for changes that
/// cancelled out.
/// </summary>
public sealed class CoalescingTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;

    [Fact]
    public async Task Delta_ChangesWhileTheNodeIsBusy_ArriveAsTheLatestVersionOnly_AndCancelledOutOnesNotAtAll()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1");
        node.HoldAnswers = true;
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Received.Count == 1, "img.a");

        // The node has not answered: every change below waits, merged per resource.
        await host.RegisterAsync("x1", "img.x", 8090); // appears ...
        await host.DeregisterAsync("x1");              // ... and disappears while the node is busy
        for (var i = 2; i <= 5; i++)
        {
            await host.RegisterAsync($"a{i}", "img.a", 8080 + i);
        }
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ QueueDepth: 2, Types: [{ AwaitingAck: true }] }], "two queued marks: img.a and img.x");

        await node.ReleaseAnswersAsync();
        await node.WaitUntilAsync(() => node.Received.Count == 2, "the merged update");
        var merged = node.Received[1];
        Assert.Equal(["img.a"], merged.Resources.Select(r => r.Name));
        Assert.Equal(host.VersionOf(Endpoints, "img.a"), merged.Resources[0].Version);
        Assert.Equal(5, EndpointSet.Parser.ParseFrom(merged.Resources[0].Resource_.Value).Endpoints.Count);
        Assert.Empty(merged.RemovedResources); // img.x was never held: nothing to remove
        node.AssertNoViolations();
    }

    [Fact]
    public async Task Sotw_AChangeThatIsUndoneWhileTheNodeIsBusy_SendsNothing()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        await using var node = await FakeSotwNode.ConnectAsync(host.Channel, "node-1");
        node.HoldAnswers = true;
        await node.SubscribeAsync(Endpoints, "img.a");
        await node.WaitUntilAsync(() => node.Received.Count == 1, "img.a");

        await host.RegisterAsync("a2", "img.a", 8082);
        await host.DeregisterAsync("a2"); // back to the version the node holds
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ QueueDepth: 1 }], "the queued change");
        await node.ReleaseAnswersAsync();
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ QueueDepth: 0, Types: [{ AwaitingAck: false }] }], "the ACK and the queued change to be settled");

        // The next response the node gets is the next real change, not the set it already has.
        await host.RegisterAsync("a3", "img.a", 8083);
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "a1 and a3");
        Assert.Equal(2, node.Received.Count);
        node.AssertNoViolations();
    }

    [Fact]
    public async Task Delta_ARejectedVersionThatComesBack_IsNotSentAgain()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        await using var node = await FakeDeltaNode.ConnectInMemoryAsync(host, "node-1", new FakeNodeOptions
        {
            Reject = r => EndpointSet.Parser.ParseFrom(r.Resource_.Value).Endpoints.Any(e => e.Port == 6666) ? "port 6666 is reserved" : null,
        });
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "img.a");
        await host.RegisterAsync("bad", "img.a", 6666);
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ RejectionError: not null, AwaitingAck: false }] }], "the NACK");

        // The node is busy with an unrelated update; meanwhile img.a changes and changes back to the rejected content.
        var answered = node.Received.Count;
        node.HoldAnswers = true;
        await host.RegisterAsync("b1", "img.b", 8083);
        await node.WaitUntilAsync(() => node.Received.Count == answered + 1, "img.b");
        await host.RegisterAsync("good", "img.a", 8082);
        await host.DeregisterAsync("good");
        await node.ReleaseAnswersAsync();

        // The next change shows what was queued: img.a was not sent again at the rejected version.
        await host.RegisterAsync("c1", "img.c", 8084);
        await node.WaitUntilAsync(() => node.Versions(Endpoints).ContainsKey("img.c"), "img.c");
        Assert.All(node.Received.Skip(answered), r => Assert.DoesNotContain(r.Resources, x => x.Name == "img.a"));
        node.AssertNoViolations();
    }
}
