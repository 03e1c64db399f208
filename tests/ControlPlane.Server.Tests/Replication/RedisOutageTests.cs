using System.Collections.Concurrent;
using System.Net;
using ControlPlane.Api.V1;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Tests.Discovery.Fakes;
using static ControlPlane.Server.Tests.Policies.RestCalls;

namespace ControlPlane.Server.Tests.Replication;

/// <summary>
/// Redis going away under replicas in use (paused with SIGSTOP, or killed and restarted): discovery
/// streams keep serving the last snapshot from memory, to nodes already connected and to nodes that
/// connect meanwhile; writes and store-backed reads answer UNAVAILABLE; when Redis returns, the leases
/// are extended once (no instance expires for heartbeats that could not be recorded), writes work
/// again and every replica reconverges. What was lost: nothing.
/// </summary>
public sealed class RedisOutageTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;

    // Calls give up after half a second, so the outage shows quickly.
    private static readonly string[] QuickTimeout = ["--ControlPlane:Store:Redis:CommandTimeout=00:00:00.500"];

    [Fact]
    public async Task RedisPaused_StreamsKeepServing_WritesFailThenRecover_AndNothingExpiresBecauseOfIt()
    {
        await using var redis = await RedisServer.StartAsync();
        var clock = new ManualTimeProvider();
        await using var set = await ReplicaSet.StartAsync(redis, 2, clock, args: QuickTimeout);
        await RunOutageAsync(set, clock, redis.Pause, redis.Resume);
    }

    [Fact]
    public async Task RedisRestarted_StreamsKeepServing_WritesFailThenRecover_EveryReplicaReloads_AndNothingExpiresBecauseOfIt()
    {
        // Persistence on, as a production Redis has it: the restarted server has the registry back.
        await using var redis = await RedisServer.StartAsync("--appendonly", "yes", "--appendfsync", "always");
        var clock = new ManualTimeProvider();
        await using var set = await ReplicaSet.StartAsync(redis, 2, clock, args: QuickTimeout);
        await RunOutageAsync(set, clock, () => redis.StopAsync().GetAwaiter().GetResult(), () => redis.StartAsync().GetAwaiter().GetResult());

        // A restarted server may have lost its last revisions: each replica reloaded everything.
        foreach (var replica in set.Replicas)
        {
            Assert.Contains(replica.LogsOf(8102), e => e.GetProperty("Why").GetString() == "the store's server restarted");
        }
    }

    [Fact]
    public async Task AReplicaStartedWhileRedisIsDown_JoinsWhenItReturns_AndFollowsChangeMessages()
    {
        await using var redis = await RedisServer.StartAsync("--appendonly", "yes", "--appendfsync", "always");
        var clock = new ManualTimeProvider();
        await using var set = await ReplicaSet.StartAsync(redis, 1, clock, args: QuickTimeout);
        var a = set[0];
        await a.RegisterAsync("i1", "img.a", 8081);
        await redis.StopAsync();

        var b = await set.AddReplicaUnreadyAsync("cp-b", QuickTimeout);
        using (var ready = await b.Http.GetAsync("/readyz").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }
        await redis.StartAsync();
        // b retries its warm-up and its expiry pass on its (virtual) clock.
        await Eventually.WaitAsync("b to be warm, in step and ready", async () =>
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            return b.Cache.WhenWarm.IsCompletedSuccessfully && b.Follower.AppliedRevision >= 1 && (await b.Http.GetAsync("/readyz")).IsSuccessStatusCode;
        });
        await using var node = await FakeDeltaNode.ConnectAsync(b.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Endpoints("img.a") is not null, "img.a, registered before b started");

        // Subscribed once Redis came back: a change through a arrives as a message (the clock stands
        // still from here, so no revision check runs).
        await Eventually.WaitAsync("a to answer again", async () => (await a.Http.GetAsync("/readyz")).IsSuccessStatusCode);
        await a.RegisterAsync("j1", "img.b", 8082);
        await node.WaitUntilAsync(() => node.Endpoints("img.b") is not null, "img.b through a");
        node.AssertNoViolations();
    }

    private static async Task RunOutageAsync(ReplicaSet set, ManualTimeProvider clock, Action stop, Action start)
    {
        var (a, b) = (set[0], set[1]);
        await a.RegisterAsync("i1", "img.a", 8081, ttl: 10);
        await a.RegisterAsync("i2", "img.a", 8082, ttl: 10);
        await b.WaitForCacheAsync(c => Discovery.DiscoveryHost.EndpointsOf(c, "img.a")?.Endpoints.Count == 2, "img.a on b");
        await using var node = await FakeDeltaNode.ConnectAsync(b.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 2, "img.a");
        var versionBefore = node.Versions(Endpoints)["img.a"];

        // Load: i2's agent heartbeats through a's REST port all along; every answer is 200 or 503 store_unavailable.
        using var stopLoad = new CancellationTokenSource();
        var answers = new ConcurrentBag<string>();
        var load = Task.Run(async () =>
        {
            while (!stopLoad.IsCancellationRequested)
            {
                using var response = await a.Http.PutAsync("/v1/services/i2/heartbeat", null).DefaultTimeout();
                answers.Add(response.StatusCode == HttpStatusCode.OK ? "ok" : $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        });
        await Eventually.WaitAsync("the load to run", () => answers.Contains("ok"));

        stop();
        try
        {
            // Writes and store-backed reads: UNAVAILABLE, store_unavailable (503 over REST).
            var write = await JsonAsync(await SendAsync(b.Http, HttpMethod.Post, "/v1/services/register",
                """{"name":"svc","image":"img.b","instance_id":"j1","host":"10.0.0.9","port":9000,"ttl_seconds":30}"""), HttpStatusCode.ServiceUnavailable);
            AssertError(write, 14, StoreUnavailableInterceptor.Reason);
            AssertError(await b.GetJsonAsync("/v1/services?name=svc-img.a", HttpStatusCode.ServiceUnavailable), 14, StoreUnavailableInterceptor.Reason);
            AssertError(await b.GetJsonAsync("/v1/dataplanes", HttpStatusCode.ServiceUnavailable), 14, StoreUnavailableInterceptor.Reason);
            using (var ready = await b.Http.GetAsync("/readyz").DefaultTimeout())
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            }

            // Streams serve from memory: the connected node keeps its stream, a node connecting now gets img.a.
            await using var newcomer = await FakeDeltaNode.ConnectAsync(a.Channel, "node-2");
            await newcomer.SubscribeAsync(Endpoints, "*");
            await newcomer.WaitUntilAsync(() => newcomer.Versions(Endpoints).GetValueOrDefault("img.a") == versionBefore, "img.a from a's memory");
            Assert.Null(node.EndStatus);

            // i1's deadline passes while no heartbeat can be recorded (its agent is silent too: it
            // would not be the outage's fault, but the control plane cannot tell); expiry passes fail.
            clock.Advance(TimeSpan.FromSeconds(15));
            await Eventually.WaitAsync("both replicas to notice the outage", () => set.Replicas.All(r => r.LogsOf(8113).Count > 0));
        }
        finally
        {
            start();
        }

        // Writes recover (the load's heartbeats succeed again), and the leases were extended once, fleet-wide.
        var okBefore = answers.Count(x => x == "ok");
        await Eventually.WaitAsync("heartbeats to succeed again", () => answers.Count(x => x == "ok") > okBefore + 3);
        await Eventually.WaitAsync("the leases to be extended", () => set.Replicas.Sum(r => r.LogsOf(8111).Count) == 1);
        await stopLoad.CancelAsync();
        await load.DefaultTimeout();
        Assert.All(answers, x => Assert.True(x == "ok" || (x.StartsWith("503 ", StringComparison.Ordinal) && x.Contains(StoreUnavailableInterceptor.Reason, StringComparison.Ordinal)), x));

        // Expiry runs again and i1 is still there: its lease runs a full TTL from the store's return.
        var resumedAt = clock.GetUtcNow();
        var passes = set.Replicas.Select(r => r.Expiry.Passes).ToArray();
        // Small steps: a replica whose connection is still coming back (real time) retries its pass a
        // second later (virtual time), so the clock must not run past the budget before it has.
        await set.WaitWhileTimePassesAsync("an expiry pass on each replica", () => set.Replicas.Select((r, i) => r.Expiry.Passes > passes[i]).All(x => x), TimeSpan.FromSeconds(8), TimeSpan.FromMilliseconds(100));
        var i1 = (await b.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = "i1" }).DefaultTimeout()).Instance;
        Assert.Equal("healthy", i1.Status);
        Assert.True(i1.ExpiresAt.ToDateTimeOffset() >= resumedAt.AddSeconds(10), $"i1 expires at {i1.ExpiresAt}");
        Assert.Empty(set.Replicas.SelectMany(r => r.LogsOf(3002)));

        // Everything reconverges: a change through a reaches the node on b, at the same versions everywhere.
        await a.RegisterAsync("i3", "img.a", 8083, ttl: 3600);
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 3, "i3 on b");
        await Eventually.WaitAsync("every replica to hold the same endpoints", () => a.VersionOf(Endpoints, "img.a") == b.VersionOf(Endpoints, "img.a"));
        node.AssertNoViolations();
    }
}
