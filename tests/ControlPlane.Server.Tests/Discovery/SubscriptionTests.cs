using ControlPlane.Api.V1;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;

namespace ControlPlane.Server.Tests.Discovery;

/// <summary>Wildcard and named subscriptions, changed at any time, racing with changes to the resources.</summary>
public sealed class SubscriptionTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;

    [Fact]
    public async Task Delta_NamedSubscription_GetsOnlyWhatItNames_AndANameThatDoesNotExistIsAnsweredAsRemoved()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        await host.RegisterAsync("b1", "img.b", 8082);
        await host.WaitForCacheAsync(c => c.Snapshot(Endpoints).Count == 2, "img.a and img.b");
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "img.a", "img.c");
        await node.WaitUntilAsync(() => node.ResponsesOnStream(Endpoints) == 1, "the first answer");

        // xDS: a subscribed resource that does not exist is answered in removed_resources.
        Assert.Equal(["img.a"], node.Received[0].Resources.Select(r => r.Name));
        Assert.Equal(["img.c"], node.Received[0].RemovedResources);

        await host.RegisterAsync("c1", "img.c", 8083);
        await host.RegisterAsync("b2", "img.b", 8084);
        await node.WaitUntilAsync(() => node.Versions(Endpoints).ContainsKey("img.c"), "img.c once it exists");
        await host.RegisterAsync("a2", "img.a", 8085);
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "the new img.a");
        Assert.DoesNotContain(node.Received, r => r.Resources.Any(x => x.Name == "img.b"));
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task Delta_ManyNamesThatDoNotExist_AreAnsweredAsRemovals_SplitLikeResources()
    {
        // Removals count against the response budget: 400 names of 40 bytes in one response would be
        // 17 KB against a 1 KB budget (as, at the defaults, 100,000 such names against 1 MiB would
        // pass the 4 MiB message limit and end the stream).
        await using var host = await DiscoveryHost.StartAsync(o => o.MaxDeltaResponseBytes = 1000);
        await host.RegisterAsync("a1", "img.a", 8081);
        await host.WaitForCacheAsync(c => c.Snapshot(Endpoints).Count == 1, "img.a");
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1");
        var missing = Enumerable.Range(0, 400).Select(i => $"img.missing.{i:D4}.{new string('x', 22)}").ToArray();
        await node.SubscribeAsync(Endpoints, [.. missing, "img.a"]);

        await node.WaitUntilAsync(() => node.Received.SelectMany(r => r.RemovedResources).Count() == missing.Length, "every missing name answered");
        Assert.Equal(missing.Order(StringComparer.Ordinal), node.Received.SelectMany(r => r.RemovedResources).Order(StringComparer.Ordinal));
        Assert.Equal(["img.a"], node.Received.SelectMany(r => r.Resources).Select(r => r.Name));
        Assert.True(node.Received.Count >= 17, $"{node.Received.Count} responses");
        Assert.All(node.Received, r => Assert.True(r.RemovedResources.Sum(n => n.Length + 4) < 1000 + 44, $"a response of {r.RemovedResources.Count} removals"));
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task Delta_SubscribeAndUnsubscribe_RacingWithChanges_ConvergeOnExactlyTheLastSubscription()
    {
        await using var host = await DiscoveryHost.StartAsync();
        var images = Enumerable.Range(0, 6).Select(i => $"img.{i}").ToArray();
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, images[0]);

        var port = 8000;
        var changes = Task.Run(async () =>
        {
            for (var round = 0; round < 30; round++)
            {
                var image = images[round % images.Length];
                await host.RegisterAsync($"{image}-{round}", image, ++port);
                if (round % 4 == 3)
                {
                    await host.DeregisterAsync($"{images[(round - 3) % images.Length]}-{round - 3}");
                }
            }
        });
        for (var round = 0; round < 30; round++)
        {
            await node.SubscribeAsync(Endpoints, images[(round + 1) % images.Length], images[(round + 3) % images.Length]);
            await node.UnsubscribeAsync(Endpoints, images[round % images.Length]);
        }
        await changes.DefaultTimeout();

        // After the last change: subscribed to exactly what the last requests left, holding the current versions.
        var expected = new[] { images[(29 + 1) % 6], images[(29 + 3) % 6], images[(28 + 3) % 6] }.Except([images[29 % 6]]).ToHashSet();
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [var t] }] && t.SubscribedNames.ToHashSet().SetEquals(expected), "the final subscription");
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "the subscribed resources at their current versions");
        Assert.True(node.Versions(Endpoints).Keys.All(expected.Contains));
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ AwaitingAck: false, QueueDepth: 0 } t] }] && t.VersionAcked == t.VersionCurrent, "the node to be in sync");
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task Sotw_ChangingTheNameList_RacingWithChanges_EndsWithExactlyTheSubscribedSet()
    {
        await using var host = await DiscoveryHost.StartAsync();
        var images = Enumerable.Range(0, 5).Select(i => $"img.{i}").ToArray();
        await using var node = await FakeSotwNode.ConnectAsync(host.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, images[0]);
        var port = 8000;
        var changes = Task.Run(async () =>
        {
            for (var round = 0; round < 25; round++)
            {
                await host.RegisterAsync($"i{round}", images[round % images.Length], ++port);
            }
        });
        for (var round = 0; round < 25; round++)
        {
            await node.SubscribeAsync(Endpoints, images[round % 5], images[(round + 2) % 5]);
        }
        await changes.DefaultTimeout();
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "exactly the subscribed set");
        Assert.Equal(new[] { images[24 % 5], images[(24 + 2) % 5] }.Order(StringComparer.Ordinal), node.Versions(Endpoints).Keys.Order(StringComparer.Ordinal));
        node.AssertNoViolations();
        host.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task Sotw_EmptyList_IsWildcardOnlyUntilTheNodeNamesSomething()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        await host.RegisterAsync("b1", "img.b", 8082);
        await host.WaitForCacheAsync(c => c.Snapshot(Endpoints).Count == 2, "img.a and img.b");
        await using var node = await FakeSotwNode.ConnectAsync(host.Channel, "node-1");
        await node.SubscribeAsync(Endpoints);
        await node.WaitUntilAsync(() => node.Versions(Endpoints).Count == 2, "everything (legacy wildcard)");

        await node.SubscribeAsync(Endpoints, "img.a");
        await node.WaitUntilAsync(() => node.Versions(Endpoints).Keys.SequenceEqual(["img.a"]), "only img.a");

        // Now an empty list means "nothing", not wildcard (xDS legacy wildcard rule).
        await node.SubscribeAsync(Endpoints);
        await node.WaitUntilAsync(() => node.Versions(Endpoints).Count == 0 && node.Received[^1].Resources.Count == 0, "an empty set");
        node.AssertNoViolations();
    }

    [Fact]
    public async Task Delta_LegacyWildcard_AndUnsubscribingANameAlsoCoveredByTheWildcard_IsAnswered()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        await host.WaitForCacheAsync(c => c.Snapshot(Endpoints).Count == 1, "img.a");
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1");
        await node.SubscribeAsync(Endpoints); // no names on the first request: wildcard
        await node.WaitUntilAsync(() => node.Versions(Endpoints).ContainsKey("img.a"), "img.a");

        await node.SubscribeAsync(Endpoints, "img.a", "img.x");
        await node.WaitUntilAsync(() => node.Received.Any(r => r.RemovedResources.Contains("img.x")), "img.x answered as not existing");

        // With the wildcard still on, the node cannot tell whether to keep img.a: the server says it exists.
        var before = node.Received.Count;
        await node.UnsubscribeAsync(Endpoints, "img.a", "img.x");
        await node.WaitUntilAsync(() => node.Received.Skip(before).Any(r => r.Resources.Any(x => x.Name == "img.a")), "img.a confirmed");
        Assert.True(node.HoldsCurrent(host.Cache, Endpoints));

        // Ending the wildcard: the node drops what it held only through it; nothing more is pushed for it.
        await node.UnsubscribeAsync(Endpoints, "*");
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ Wildcard: false, ResourceCount: 0 }] }], "the end of the wildcard");
        var after = node.Received.Count;
        await host.RegisterAsync("b1", "img.b", 8082);
        await host.WaitForCacheAsync(c => c.Snapshot(Endpoints).Count == 2, "img.b");
        await node.SubscribeAsync(Endpoints, "img.b");
        await node.WaitUntilAsync(() => node.Versions(Endpoints).Keys.SequenceEqual(["img.b"]), "only img.b");
        Assert.All(node.Received.Skip(after), r => Assert.DoesNotContain(r.Resources, x => x.Name == "img.a"));
        node.AssertNoViolations();
    }

    [Fact]
    public async Task Delta_ResubscribingANameTheNodeHolds_ResendsIt()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        await host.WaitForCacheAsync(c => c.Snapshot(Endpoints).Count == 1, "img.a");
        await using var node = await FakeDeltaNode.ConnectAsync(host.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "img.a");
        await node.WaitUntilAsync(() => node.Versions(Endpoints).ContainsKey("img.a"), "img.a");

        // xDS: the server must answer a subscribed name even if it believes the node has it.
        await node.SubscribeAsync(Endpoints, "img.a");
        await node.WaitUntilAsync(() => node.Received.Count == 2, "img.a again");
        Assert.Equal(["img.a"], node.Received[1].Resources.Select(r => r.Name));
        node.AssertNoViolations();
    }

    [Fact]
    public async Task Sotw_AStaleNonce_IsIgnoredAsAnAck_ButItsSubscriptionApplies()
    {
        await using var host = await DiscoveryHost.StartAsync();
        await host.RegisterAsync("a1", "img.a", 8081);
        await host.RegisterAsync("b1", "img.b", 8082);
        await host.WaitForCacheAsync(c => c.Snapshot(Endpoints).Count == 2, "img.a and img.b");
        await using var node = await FakeSotwNode.ConnectInMemoryAsync(host, "node-1");
        await node.SubscribeAsync(Endpoints, "img.a");
        await node.WaitUntilAsync(() => node.HoldsCurrent(host.Cache, Endpoints), "img.a");
        await host.WaitForStreamsAsync(s => s.ForNode("node-1") is [{ Types: [{ AwaitingAck: false }] }], "the ACK");
        var acked = Assert.Single(host.Streams.ForNode("node-1")).Types[0];

        // A NACK with a nonce the server never sent last: no rejection is recorded, but img.b is added.
        await node.SendRawAsync(new StreamResourcesRequest
        {
            TypeUrl = Endpoints,
            ResourceNames = { "img.a", "img.b" },
            VersionInfo = acked.VersionAcked,
            ResponseNonce = "not-the-latest",
            ErrorDetail = new Google.Rpc.Status { Code = 3, Message = "stale complaint" },
        });
        // (The node's own bookkeeping did not see the raw request, so its rule checks are off from here.)
        await node.WaitUntilAsync(() => node.Received.Count >= 2, "the answer to the new subscription", checkRules: false);
        Assert.Equal(["img.a", "img.b"], node.Received[1].Resources.Select(r => r.Name));
        Assert.All(host.Streams.ForNode("node-1"), s => Assert.Null(s.Types[0].RejectionError));
    }
}
