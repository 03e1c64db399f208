using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Discovery;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>
/// Responses never pass what can be sent: delta parts keep to their budget, and a resource (or a
/// state-of-the-world set) too large for any response is not sent, rather than ending the stream on
/// every reconnect and, with it, every other change the node should get.
/// </summary>
public sealed class ResponseLimitTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;

    /// <summary>A host whose responses carry at most 1,000 bytes of resources (the send limit less its overhead).</summary>
    private static Task<DiscoveryHost> WithTinyResponsesAsync() => DiscoveryHost.StartAsync(o =>
    {
        o.MaxDeltaResponseBytes = 1000;
        o.MaxResponseBytes = 1000 + DiscoveryOptions.ResponseOverhead;
    });

    // Metadata that makes an image's endpoint set about this many bytes larger.
    private static string Padding(int bytes) => $$"""{"pad":"{{new string('p', bytes)}}"}""";

    [Fact]
    public async Task Delta_APartNeverPassesItsBudget_ALargeResourceGoesAlone()
    {
        await using var host = await DiscoveryHost.StartAsync(o => o.MaxDeltaResponseBytes = 1000);
        await host.RegisterAsync("a1", "img.a", 8081, Padding(600));
        await host.RegisterAsync("b1", "img.b", 8082, Padding(700));
        await host.RegisterAsync("c1", "img.c", 8083, Padding(1500)); // over the budget: a part of its own
        await host.RegisterAsync("d1", "img.d", 8084);
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1");

        await node.SubscribeAsync(Endpoints, "*");

        await node.WaitUntilAsync(() => node.Versions(Endpoints).Count == 4, "every image");
        Assert.All(node.Received, r => Assert.True(r.Resources.Count == 1 || r.Resources.Sum(x => x.CalculateSize()) <= 1000,
            $"a part of {r.Resources.Count} resources, {r.Resources.Sum(x => x.CalculateSize())} bytes"));
        Assert.True(node.Received.Count >= 3, $"{node.Received.Count} responses");
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task Delta_AResourceTooLargeForAnyResponse_IsNotSent_AndEverythingElseStillFlows()
    {
        await using var host = await WithTinyResponsesAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        await host.RegisterAsync("big1", "img.big", 8082, Padding(2000));
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1");

        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Endpoints("img.a") is not null, "img.a");
        await host.RegisterAsync("a2", "img.a", 8085);
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 2, "the change to img.a");
        await node.ReconnectAsync();
        await host.RegisterAsync("a3", "img.a", 8086);
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 3, "img.a after a reconnect");

        Assert.Null(node.Endpoints("img.big"));
        Assert.Null(node.EndStatus);
        var logged = Assert.Single(host.Logs.Records, r => r.EventId.Id == 4020); // once, not once per response or stream
        Assert.Contains("img.big", logged.Message, StringComparison.Ordinal);
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors(r => r.EventId.Id == 4020);
    }

    [Fact]
    public async Task Sotw_ASetTooLargeForAResponse_IsNotSent_UntilItFitsAgain_AndTheStreamLives()
    {
        await using var host = await WithTinyResponsesAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        await using var node = await FakeSotwNode.ConnectAsync(host.Channel, "node-1");
        await node.SubscribeAsync(Endpoints);
        await node.WaitUntilAsync(() => node.Versions(Endpoints).ContainsKey("img.a"), "img.a");

        await host.RegisterAsync("big1", "img.big", 8082, Padding(2000));
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ AwaitingAck: false, QueueDepth: 0 }] }], "the set to be passed over");
        await Eventually.WaitAsync("the log", () => Task.FromResult(host.Logs.Records.Any(r => r.EventId.Id == 4020)));
        Assert.Equal(["img.a"], node.Versions(Endpoints).Keys);
        Assert.Null(node.EndStatus);

        await host.DeregisterAsync("big1");
        await host.RegisterAsync("a2", "img.a", 8085);
        await node.WaitUntilAsync(() => node.Versions(Endpoints).Count == 1 && node.Versions(Endpoints)["img.a"] == host.Cache.Snapshot(Endpoints).Find("img.a")!.Version, "the set once it fits");
        Assert.Null(node.EndStatus);
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors(r => r.EventId.Id == 4020);
    }

    [Fact]
    public async Task ARequestOfTheProtosLargestNameList_IsTakenWhole()
    {
        // 100,000 names of 45 characters: about 4.7 MB, past gRPC's usual 4 MiB receive limit.
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        using var channel = host.CreateChannel(new GrpcChannelOptions { MaxSendMessageSize = 16 << 20 });
        await using var node = await FakeDeltaNode.ConnectAsync(channel, "node-1");
        var names = Enumerable.Range(0, 100_000).Select(i => $"img.not-there.{i:D6}.{new string('n', 24)}").Append("img.a").ToArray()[1..];

        await node.SubscribeAsync(Endpoints, names);

        await node.WaitUntilAsync(() => node.Endpoints("img.a") is not null, "img.a");
        Assert.Null(node.EndStatus);
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [var t] }] && t.SubscribedNames.Count == 100_000, "every name subscribed");
    }
}
