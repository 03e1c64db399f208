using ControlPlane.Api.V1;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;

namespace ControlPlane.Server.Tests.Replication;

/// <summary>
/// Replicas agree: a change made through any replica reaches the nodes watching every other one,
/// at the same versions everywhere; a replica that missed a change message catches up from the
/// change log (on the next message, a reconnect, or the periodic revision check), or reloads
/// everything when the log no longer reaches back; it never keeps stale content silently.
/// </summary>
public sealed class ChangeNotificationTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;
    private static readonly string Policies = ResourceTypes.RoutingPolicy;

    private static async Task AssertSameVersionsEverywhereAsync(ReplicaSet set)
    {
        // Each replica applies a change when its message arrives: wait until all hold the same, then compare.
        await Eventually.WaitAsync("every replica to hold the same versions", () => set.Replicas.All(r =>
            r.Cache.Snapshot(Endpoints).Version == set[0].Cache.Snapshot(Endpoints).Version
            && r.Cache.Snapshot(Policies).Version == set[0].Cache.Snapshot(Policies).Version));
        foreach (var replica in set.Replicas)
        {
            Assert.Equal(
                set[0].Cache.Snapshot(Endpoints).Resources.Values.Select(r => (r.Name, r.Version)),
                replica.Cache.Snapshot(Endpoints).Resources.Values.Select(r => (r.Name, r.Version)));
        }
    }

    [Fact]
    public async Task ARegistrationThroughA_AndAPolicyThroughC_ReachANodeWatchingB_AtTheSameVersionsOnEveryReplica()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 3);
        var (a, b, c) = (set[0], set[1], set[2]);
        await using var node = await FakeDeltaNode.ConnectAsync(b.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.SubscribeAsync(Policies, "*");

        await a.RegisterAsync("i1", "img.a", 8081, metadataJson: """{"weight": 3}""");
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints is [{ InstanceId: "i1", Weight: 3 }], "i1 through replica a");
        await c.SetPolicyAsync("img.a", """{"algorithm": "least_conn"}""");
        await node.WaitUntilAsync(() => node.Versions(Policies).ContainsKey("img.a"), "img.a's policy through replica c");
        await c.DeregisterAsync("i1");
        await node.WaitUntilAsync(() => node.Endpoints("img.a") is null, "i1's removal through replica c");

        await AssertSameVersionsEverywhereAsync(set);
        Assert.True(node.HoldsCurrent(b.Cache, Endpoints) && node.HoldsCurrent(b.Cache, Policies));
        Assert.Equal(a.VersionOf(Policies, "img.a"), node.Versions(Policies)["img.a"]);
        node.AssertNoViolations();
        Assert.All(set.Replicas, r => AssertNoErrors(r));

        // In step: every replica applied the store's revision and reports no lag.
        var revision = await set.RevisionAsync();
        foreach (var replica in set.Replicas)
        {
            await Eventually.WaitAsync($"{replica.Id} at revision {revision}", () => replica.Follower.AppliedRevision == revision);
            var metrics = await replica.MetricsAsync();
            Assert.Contains($"controlplane_replication_revision {revision}", metrics, StringComparison.Ordinal);
            Assert.Contains("controlplane_replication_lag 0", metrics, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ALostMessage_IsCaughtUpByThePeriodicRevisionCheck()
    {
        await using var redis = await RedisServer.StartAsync();
        var clock = new ManualTimeProvider();
        await using var set = await ReplicaSet.StartAsync(redis, 2, clock);
        var (a, b) = (set[0], set[1]);
        await a.RegisterAsync("i1", "img.a", 8081);
        await b.WaitForCacheAsync(c => c.Snapshot(Endpoints).Find("img.a") is not null, "img.a");
        await using var node = await FakeDeltaNode.ConnectAsync(b.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Endpoints("img.a") is not null, "img.a");

        // i1 drained by a replica whose message got lost: no later message shows the gap.
        var revision = await set.DrainWithoutAnnouncingAsync("i1", "img.a");
        await Eventually.WaitAsync("the store to be ahead of b", () => b.Follower.AppliedRevision == revision - 1);

        clock.Advance(TimeSpan.FromSeconds(1)); // the revision check
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints is [{ Status: "draining" }], "i1 draining on b");
        Assert.Equal(revision, b.Follower.AppliedRevision);
        Assert.Contains("controlplane_replication_catch_ups_total{how=\"log\"} 1", await b.MetricsAsync(), StringComparison.Ordinal);
        await AssertSameVersionsEverywhereAsync(set);
        node.AssertNoViolations();
    }

    [Fact]
    public async Task AMessageAfterALostOne_RevealsTheGap_AndBothAreApplied_WithoutWaitingForTheCheck()
    {
        await using var redis = await RedisServer.StartAsync();
        var clock = new ManualTimeProvider(); // never advanced: no revision check runs
        await using var set = await ReplicaSet.StartAsync(redis, 2, clock);
        var (a, b) = (set[0], set[1]);
        await a.RegisterAsync("i1", "img.a", 8081);
        await using var node = await FakeDeltaNode.ConnectAsync(b.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Endpoints("img.a") is not null, "img.a");

        await set.DrainWithoutAnnouncingAsync("i1", "img.a");
        await a.RegisterAsync("j1", "img.b", 8082);

        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints is [{ Status: "draining" }] && node.Endpoints("img.b") is not null, "both changes on b");
        var metrics = await b.MetricsAsync();
        Assert.Contains("controlplane_replication_gaps_total 1", metrics, StringComparison.Ordinal);
        Assert.Contains("controlplane_replication_catch_ups_total{how=\"log\"} 1", metrics, StringComparison.Ordinal);
        node.AssertNoViolations();
    }

    [Fact]
    public async Task ASubscriberThatReconnects_CatchesUpWhatWasSaidMeanwhile()
    {
        await using var redis = await RedisServer.StartAsync();
        var clock = new ManualTimeProvider(); // never advanced: no revision check runs
        await using var set = await ReplicaSet.StartAsync(redis, 2, clock);
        var (a, b) = (set[0], set[1]);
        await a.RegisterAsync("i1", "img.a", 8081);
        await using var node = await FakeDeltaNode.ConnectAsync(b.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Endpoints("img.a") is not null, "img.a");

        // Said while nobody listened, then every subscriber connection is cut: the replicas reconnect.
        await set.DrainWithoutAnnouncingAsync("i1", "img.a");
        await set.Database.ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub").DefaultTimeout();

        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints is [{ Status: "draining" }], "i1 draining on b after the reconnect");
        await AssertSameVersionsEverywhereAsync(set);
        node.AssertNoViolations();
    }

    [Fact]
    public async Task WhenTheLogNoLongerReachesBack_EverythingIsReloaded_AndOnlyWhatDiffersIsSent()
    {
        await using var redis = await RedisServer.StartAsync();
        var clock = new ManualTimeProvider();
        await using var set = await ReplicaSet.StartAsync(redis, 2, clock);
        var (a, b) = (set[0], set[1]);
        await a.RegisterAsync("i1", "img.a", 8081);
        await a.RegisterAsync("k1", "img.k", 8089);
        await using var node = await FakeDeltaNode.ConnectAsync(b.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Versions(Endpoints).Count == 2, "img.a and img.k");
        var responses = node.Received.Count;

        // Missed, and trimmed from the log before b looked.
        await set.DrainWithoutAnnouncingAsync("i1", "img.a");
        await set.Database.KeyDeleteAsync(set.Prefix + "change_log").DefaultTimeout();
        clock.Advance(TimeSpan.FromSeconds(1));

        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints is [{ Status: "draining" }], "i1 draining on b after the reload");
        Assert.Equal(["img.a"], node.Received.Skip(responses).SelectMany(r => r.Resources).Select(r => r.Name)); // img.k did not change: not resent
        Assert.Contains("controlplane_replication_catch_ups_total{how=\"reload\"} 1", await b.MetricsAsync(), StringComparison.Ordinal);
        Assert.Single(b.LogsOf(8102));
        await AssertSameVersionsEverywhereAsync(set);
        node.AssertNoViolations();
    }

    private static void AssertNoErrors(Replica replica) =>
        Assert.Empty(replica.Host.Logs.Entries.Where(e => e.GetProperty("level").GetString() is "error" or "critical").Select(e => e.ToString()));
}
