using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Tests.Discovery.Fakes;
using static ControlPlane.Server.Tests.Policies.RestCalls;

namespace ControlPlane.Server.Tests.Replication;

/// <summary>
/// Redis going away under replicas in use (paused with SIGSTOP, or killed and restarted): discovery
/// streams keep serving the last snapshot from memory, to nodes already connected and to nodes that
/// connect meanwhile; reads of the registry, the policies and the fleet are answered from memory and
/// say so (X-Platform-Last-Contact), no node is shown SYNCED meanwhile (the replica cannot know its
/// configuration is current); writes answer UNAVAILABLE; when Redis returns, the leases
/// are extended once (no instance expires for heartbeats that could not be recorded), writes work
/// again and every replica reconverges. What was lost: nothing.
/// </summary>
public sealed class RedisOutageTests
{
    private static readonly string Endpoints = ResourceTypes.EndpointSet;

    // Calls give up after half a second, so the outage shows quickly; nodes are not handed off (a test below does that).
    private static readonly string[] QuickTimeout = ["--ControlPlane:Store:Redis:CommandTimeout=00:00:00.500", "--ControlPlane:Replication:HandOffNodesAfter=00:00:00"];

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
    public async Task RedisBackEmpty_NodesKeepTheirEndpointsWhileAgentsRegisterAgain_ADeregisteredOneLeavesAtOnce_ThenOnlyThoseNotBackAreRemoved()
    {
        // Persistence off: the restarted server has forgotten the registry.
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 2, clock: null, args: [.. QuickTimeout, "--ControlPlane:Discovery:MassRemovalHold=00:00:10"]);
        var (a, b) = (set[0], set[1]);
        var ids = Enumerable.Range(1, 10).Select(i => $"i{i:00}").ToArray();
        for (var i = 0; i < ids.Length; i++)
        {
            await a.RegisterAsync(ids[i], "img.a", 8100 + i);
        }
        await using var node = await FakeDeltaNode.ConnectAsync(b.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 10, "img.a's ten endpoints on b");

        await redis.StopAsync();
        await redis.StartAsync();
        // Each replica finds a store that started afresh, reloads it, and would remove every endpoint: it holds them instead.
        await Eventually.WaitAsync("both replicas to hold the removal", () => a.LogsOf(4024).Count > 0 && b.LogsOf(4024).Count > 0);
        Assert.Equal(ids, node.Endpoints("img.a")!.Endpoints.Select(e => e.InstanceId));

        // Agents register again, as the SDK's registrar does when its heartbeats come back NOT_FOUND; one on
        // another port, a change the node is sent with the held endpoints beside it.
        await Eventually.WaitAsync("a to take writes again", async () => (await a.Http.GetAsync("/readyz")).IsSuccessStatusCode);
        await a.RegisterAsync("i01", "img.a", 9001);
        await a.RegisterAsync("i02", "img.a", 8101);
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.FirstOrDefault(e => e.InstanceId == "i01")?.Port == 9001, "i01 on its new port");
        Assert.Equal(ids, node.Endpoints("img.a")!.Endpoints.Select(e => e.InstanceId));

        // An agent that deregisters instead (shutting down) finds no record to remove: the store forgot it.
        // It still leaves the hold at once, on the other replica too, while the rest stay held.
        var deregistered = await Assert.ThrowsAsync<RpcException>(() => a.DeregisterAsync("i03"));
        Assert.Equal(StatusCode.NotFound, deregistered.StatusCode);
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 9, "i03's removal, before the hold ends");
        Assert.Equal(ids.Where(id => id != "i03"), node.Endpoints("img.a")!.Endpoints.Select(e => e.InstanceId));
        Assert.Empty(b.LogsOf(4025));

        // When the hold ends, the seven that did not come back are removed, and only they.
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 2, "the removal of the seven not back");
        Assert.Equal(["i01", "i02"], node.Endpoints("img.a")!.Endpoints.Select(e => e.InstanceId));
        Assert.NotEmpty(b.LogsOf(4025));
        node.AssertNoViolations();
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
        // b has never read the store: it has nothing to answer reads from, and says so.
        AssertError(await b.GetJsonAsync("/v1/dataplanes", HttpStatusCode.ServiceUnavailable), 14, StoreUnavailableInterceptor.Reason);
        AssertError(await b.GetJsonAsync("/v1/dataplanes/node-1", HttpStatusCode.ServiceUnavailable), 14, StoreUnavailableInterceptor.Reason);
        AssertError(await b.GetJsonAsync("/v1/services?name=svc-img.a", HttpStatusCode.ServiceUnavailable), 14, StoreUnavailableInterceptor.Reason);
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

    [Fact]
    public async Task AReplicaCutOffFromRedis_ShowsItsNodesStale_AnswersReadsFromMemory_AndCatchesUpWhenItReturns()
    {
        await using var redis = await RedisServer.StartAsync();
        string[] fastFleet = [.. QuickTimeout, "--ControlPlane:Fleet:PublishInterval=00:00:00.050", "--ControlPlane:Fleet:RefreshInterval=00:00:00.200"];
        await using var set = await ReplicaSet.StartAsync(redis, 1, clock: null, args: fastFleet);
        await using var relay = TcpRelay.Start(redis.Port);
        var a = set[0];
        var b = await set.AddReplicaAsync("cp-b", [.. fastFleet, $"--ControlPlane:Store:Redis:Url=redis://127.0.0.1:{relay.Port}/0"]);
        await a.RegisterAsync("i1", "img.a", 8081);
        await using var node = await FakeDeltaNode.ConnectAsync(b.Channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 1, "img.a on b");
        // An instance that came and went before the cut: b's memory follows removals too.
        await a.RegisterAsync("i0", "img.a", 8080);
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 2, "i0 on b");
        await a.DeregisterAsync("i0");
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 1, "i0 gone from b");
        await Eventually.WaitAsync("b to list node-1 as synced", async () => (await NodeStateAsync(b, "node-1")) == ("SYNC_STATE_SYNCED", null));

        // b is cut off; a still reaches Redis and takes a change b cannot see.
        relay.Cut();
        await a.RegisterAsync("i2", "img.a", 8082);
        await Eventually.WaitAsync("b to notice and list node-1 as stale, from memory", async () => (await NodeStateAsync(b, "node-1")) == ("SYNC_STATE_STALE", "memory"));
        var (listing, _) = await FromMemoryAsync(b, "/v1/services?name=svc-img.a");
        Assert.Equal(["i1"], listing.GetProperty("instances").EnumerateArray().Select(i => i.GetProperty("instance_id").GetString()));
        // Over gRPC, the mark is response metadata.
        var getInstance = new ControlPlane.Grpc.Client.Method<GetInstanceRequest, GetInstanceResponse>(
            RegistryReflection.Descriptor.Services[0].Methods.Single(m => m.Name == "GetInstance"));
        using (var call = b.Channel.AsyncUnaryCall(getInstance, new GetInstanceRequest { InstanceId = "i1" }, new ControlPlane.Grpc.Client.CallOptions()))
        {
            Assert.Equal("healthy", (await call.ResponseAsync.DefaultTimeout()).Instance.Status);
            Assert.NotNull((await call.ResponseHeadersAsync.DefaultTimeout()).GetValue("x-platform-last-contact"));
        }
        using (var ready = await b.Http.GetAsync("/readyz").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        }

        // Back: b catches up, the node gets i2, and is synced again.
        relay.Restore();
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 2, "i2 on b once it is back");
        await Eventually.WaitAsync("b to list node-1 as synced again", async () => (await NodeStateAsync(b, "node-1")) == ("SYNC_STATE_SYNCED", null));
        node.AssertNoViolations();
    }

    [Fact]
    public async Task AReplicaCutOffFromRedis_HandsItsNodesOff_ThenThoseThatCameBack_AtDoublingIntervals_AndTheOtherReplicaHasTheCurrentConfig()
    {
        await using var redis = await RedisServer.StartAsync();
        var clock = new ManualTimeProvider();
        string[] handOff = ["--ControlPlane:Store:Redis:CommandTimeout=00:00:00.500", "--ControlPlane:Replication:HandOffNodesAfter=00:00:10"];
        await using var set = await ReplicaSet.StartAsync(redis, 1, clock, args: handOff);
        await using var relay = TcpRelay.Start(redis.Port);
        var a = set[0];
        var b = await set.AddReplicaAsync("cp-b", [.. handOff, $"--ControlPlane:Store:Redis:Url=redis://127.0.0.1:{relay.Port}/0"]);
        await a.RegisterAsync("i1", "img.a", 8081);
        var channel = b.Channel;
        await using var node = await FakeDeltaNode.ConnectAsync(() => channel, "node-1");
        await node.SubscribeAsync(Endpoints, "*");
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 1, "img.a on b");

        relay.Cut();
        await a.RegisterAsync("i2", "img.a", 8082);
        // b finds out on its next call to Redis (a read, answered from memory once it gives up).
        await FromMemoryAsync(b, "/v1/services?name=svc-img.a");
        clock.Advance(TimeSpan.FromSeconds(9));
        Assert.Null(node.EndStatus);
        clock.Advance(TimeSpan.FromSeconds(1));
        // Cut off for HandOffNodesAfter: b ends the stream, UNAVAILABLE, store_unavailable.
        var end = await node.WaitForEndAsync();
        Assert.Equal(StatusCode.Unavailable, end.StatusCode);
        Assert.Equal(StoreUnavailableInterceptor.Reason, end.Reason());
        Assert.Single(b.LogsOf(8114));

        // A node that comes back to b (one that knows no other replica) is served from memory, until
        // the next round, 20 s after the first: another replica may reach Redis again meanwhile.
        await node.ReconnectAsync();
        await node.WaitUntilAsync(() => node.EndStatus is null && node.Endpoints("img.a")?.Endpoints.Count == 1, "img.a from b's memory");
        await Eventually.WaitAsync("b to open the node's second stream", () => Task.FromResult(b.LogsOf(4010).Count == 2));
        clock.Advance(TimeSpan.FromSeconds(19));
        Assert.Single(b.LogsOf(8114));
        Assert.Null(node.EndStatus);
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(StatusCode.Unavailable, (await node.WaitForEndAsync()).StatusCode);
        Assert.Equal(2, b.LogsOf(8114).Count);

        // Rounds double (here 40 s), and a stream gets at least HandOffNodesAfter (10 s) before one ends it.
        clock.Advance(TimeSpan.FromSeconds(35));
        await node.ReconnectAsync();
        await node.WaitUntilAsync(() => node.EndStatus is null && node.Endpoints("img.a")?.Endpoints.Count == 1, "img.a from b's memory again");
        await Eventually.WaitAsync("b to open the node's third stream", () => Task.FromResult(b.LogsOf(4010).Count == 3));
        clock.Advance(TimeSpan.FromSeconds(5)); // the third round: this stream is 5 s old, left alone
        Assert.Equal(3, b.LogsOf(8114).Count);
        Assert.Null(node.EndStatus);

        // The node moves to a (as a node with both addresses does on UNAVAILABLE): resuming, it gets i2.
        channel = a.Channel;
        await node.ReconnectAsync();
        await node.WaitUntilAsync(() => node.Endpoints("img.a")?.Endpoints.Count == 2, "i2 from a");
        relay.Restore();
        node.AssertNoViolations();
    }

    [Fact]
    public async Task AReplicaCutOffWhileRedisServesTheOthers_ExtendsNoLease_WhenItReturns_SoAnInstanceWithoutHeartbeatsStillExpires()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var set = await ReplicaSet.StartAsync(redis, 1, clock: null, args: QuickTimeout);
        await using var relay = TcpRelay.Start(redis.Port);
        var a = set[0];
        var b = await set.AddReplicaAsync("cp-b", [.. QuickTimeout, $"--ControlPlane:Store:Redis:Url=redis://127.0.0.1:{relay.Port}/0"]);
        // Both replicas have told Redis they are there (each checkpoint interval, 1 s).
        await Eventually.WaitAsync("both replicas' contact in Redis", async () => (await set.Database.HashLengthAsync(set.Prefix + "replica_contact")) == 2);

        relay.Cut();
        await Eventually.WaitAsync("b to notice", () => b.LogsOf(8113).Count > 0);
        // Redis keeps hearing from a, and a registers an instance whose agent never beats.
        await a.RegisterAsync("dead", "img.d", 9000, ttl: 3);
        await Eventually.WaitAsync("Redis to have heard from a well after it last heard from b", async () =>
        {
            var contacts = (await set.Database.HashValuesAsync(set.Prefix + "replica_contact")).Select(v => (long)v).ToArray();
            return contacts.Length == 2 && contacts.Max() - contacts.Min() > 4000;
        }, TimeSpan.FromSeconds(20));
        relay.Restore();

        await Eventually.WaitAsync("b to find that only it was cut off", () => Task.FromResult(b.LogsOf(8115).Count == 1), TimeSpan.FromSeconds(20),
            describe: () => Task.FromResult(string.Join("; ", new[] { 8111, 8113, 8115 }.Select(id => $"{id}: {b.LogsOf(id).Count}"))));
        Assert.Empty(set.Replicas.SelectMany(r => r.LogsOf(8111)));
        // Nothing kept it alive: it expires on its own deadline (plus the expiry lag).
        await Eventually.WaitAsync("dead to expire", async () => (await a.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = "dead" })).Instance.Status == "expired", TimeSpan.FromSeconds(20));
    }

    private static async Task RunOutageAsync(ReplicaSet set, ManualTimeProvider clock, Action stop, Action start)
    {
        var (a, b) = (set[0], set[1]);
        await a.RegisterAsync("i1", "img.a", 8081, ttl: 10);
        await a.RegisterAsync("i2", "img.a", 8082, ttl: 10);
        await a.SetPolicyAsync("img.a", """{"algorithm":"weighted_rr","weights":{"i1":3}}""");
        await b.WaitForCacheAsync(c => Discovery.DiscoveryHost.EndpointsOf(c, "img.a")?.Endpoints.Count == 2 && c.Snapshot(ResourceTypes.RoutingPolicy).Find("img.a") is not null, "img.a and its policy on b");
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
        await Eventually.WaitAsync("b to list node-1 as synced", async () => (await NodeStateAsync(b, "node-1")) == ("SYNC_STATE_SYNCED", null));

        var lastContact = (await set.Database.HashValuesAsync(set.Prefix + "replica_contact").DefaultTimeout()).Select(v => (long)v).DefaultIfEmpty(0).Max();
        stop();
        try
        {
            // Writes: UNAVAILABLE, store_unavailable (503 over REST).
            var write = await JsonAsync(await SendAsync(b.Http, HttpMethod.Post, "/v1/services/register",
                """{"name":"svc","image":"img.b","instance_id":"j1","host":"10.0.0.9","port":9000,"ttl_seconds":30}"""), HttpStatusCode.ServiceUnavailable);
            AssertError(write, 14, StoreUnavailableInterceptor.Reason);

            // Reads: from memory, marked so, on both replicas (a read the registry, the policies and the fleet from Redis before).
            foreach (var replica in set.Replicas)
            {
                var (listing, _) = await FromMemoryAsync(replica, "/v1/services?name=svc-img.a");
                Assert.Equal(["i1", "i2"], listing.GetProperty("instances").EnumerateArray().Select(i => i.GetProperty("instance_id").GetString()));
                Assert.All(listing.GetProperty("instances").EnumerateArray(), i => Assert.Equal("healthy", i.GetProperty("status").GetString()));
                var (policy, _) = await FromMemoryAsync(replica, "/v1/policy/img.a");
                Assert.Equal("weighted_rr", policy.GetProperty("algorithm").GetString());
                var (preview, _) = await FromMemoryAsync(replica, "/v1/route/preview", """{"service":{"image":"img.a"}}""");
                Assert.Equal("weighted_rr: i1 weight 3 of 4", preview.GetProperty("reason").GetString());
                var (topology, _) = await FromMemoryAsync(replica, "/v1/topology");
                Assert.Equal("img.a", topology.GetProperty("images")[0].GetProperty("image").GetString());
            }
            // node-1 is connected to b, which cannot know whether what the node acknowledged is still current.
            Assert.Equal(("SYNC_STATE_STALE", "memory"), await NodeStateAsync(b, "node-1"));
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
            // An outage of Redis itself, as Redis tells one: by its clock (this host's), it hears from no replica for
            // longer than the margin in which one in contact touches replica_contact (two revision checks and a second).
            await Eventually.WaitAsync("Redis to hear from no replica for the margin", () => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() > lastContact + 3000);
        }
        finally
        {
            start();
        }

        // Writes recover (the load's heartbeats succeed again), and the leases were extended once, fleet-wide: the
        // extension is the first replica's contact, so the other, back from the same outage, finds Redis serving it.
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

        // Reads come from Redis again (no mark), and the node is synced again.
        using (var listed = await b.Http.GetAsync("/v1/services?name=svc-img.a").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
            Assert.False(listed.Headers.Contains(MemoryReads.HeaderName));
        }
        await Eventually.WaitAsync("b to list node-1 as synced again", async () => (await NodeStateAsync(b, "node-1")) == ("SYNC_STATE_SYNCED", null));
    }

    /// <summary>A 200 answer served from memory: its JSON, and the milliseconds since the store last answered.</summary>
    private static async Task<(JsonElement Json, long SinceLastContact)> FromMemoryAsync(Replica replica, string path, string? postBody = null)
    {
        using var response = postBody is null ? await replica.Http.GetAsync(path).DefaultTimeout() : await SendAsync(replica.Http, HttpMethod.Post, path, postBody);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{replica.Id} {path}: {(int)response.StatusCode} {body}");
        Assert.True(response.Headers.TryGetValues(MemoryReads.HeaderName, out var values), $"{replica.Id} {path}: no {MemoryReads.HeaderName}");
        var since = long.Parse(Assert.Single(values), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(since >= 0, $"{MemoryReads.HeaderName}: {since}");
        return (JsonDocument.Parse(body).RootElement.Clone(), since);
    }

    /// <summary>The state <paramref name="replica"/> lists <paramref name="nodeId"/> in, and "memory" when the listing was served from memory.</summary>
    private static async Task<(string? State, string? From)> NodeStateAsync(Replica replica, string nodeId)
    {
        using var response = await replica.Http.GetAsync("/v1/dataplanes").DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        var state = json.GetProperty("dataplanes").EnumerateArray()
            .Where(d => d.GetProperty("node").GetProperty("id").GetString() == nodeId)
            .Select(d => d.GetProperty("state").GetString()).SingleOrDefault();
        return (state, response.Headers.Contains(MemoryReads.HeaderName) ? "memory" : null);
    }
}
