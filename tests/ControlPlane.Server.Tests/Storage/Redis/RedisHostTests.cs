using System.Net;
using System.Text.Json;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Auth;
using ControlPlane.Server.Policies;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;
using ControlPlane.Server.Tests.Ops;
using ControlPlane.Server.Tests.Registry;
using Microsoft.Extensions.DependencyInjection;
using static ControlPlane.Server.Tests.Policies.RestCalls;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>The control plane as the README runs it with <c>ControlPlane:Store:Kind=redis</c>, against a real redis-server.</summary>
public sealed class RedisHostTests
{
    private const string Token = "redis-host-test-token-0123456789";

    private static readonly Method<RegisterRequest, RegisterResponse> Register =
        new(RegistryReflection.Descriptor.Services[0].FindMethodByName("Register"));

    private static string[] RedisArgs(RedisServer server, string prefix) =>
        ["--ControlPlane:Store:Kind=redis", $"--ControlPlane:Store:Redis:Url={server.Url}", $"--ControlPlane:Store:Redis:KeyPrefix={prefix}"];

    private static Task<HttpResponseMessage> PostRegistrationAsync(HttpClient http, string id, int port, int ttl) =>
        SendAsync(http, HttpMethod.Post, "/v1/services/register",
            $$"""{"name":"video-svc","image":"img.video.svc","instance_id":"{{id}}","host":"10.0.0.5","port":{{port}},"metadata":{"weight":2},"ttl_seconds":{{ttl}}}""");

    private static async Task<string[]> IdsAsync(HttpClient http, string query)
    {
        var body = await JsonAsync(await http.GetAsync("/v1/services?" + query).DefaultTimeout(), HttpStatusCode.OK);
        return body.TryGetProperty("instances", out var instances) ? [.. instances.EnumerateArray().Select(i => i.GetProperty("instance_id").GetString()!)] : [];
    }

    [Fact]
    public async Task OnRedis_RegisterListHeartbeatExpireDeregister_AndPolicies_WorkOverRestAndGrpc()
    {
        await using var redis = await RedisServer.StartAsync();
        var clock = new ManualTimeProvider();
        await using var host = await ControlPlaneFixture.StartWithServicesAsync(
            services => services.AddSingleton<TimeProvider>(clock).AddSingleton(PlatformToken.FromValue(Token)),
            RedisArgs(redis, "e2e:"));
        Assert.IsType<RedisRegistryStore>(host.Services.GetRequiredService<IRegistryStore>());
        Assert.IsType<RedisPolicyStore>(host.Services.GetRequiredService<IPolicyStore>());
        using var http = host.CreateHttpClient();
        using var channel = host.CreateChannel();

        await JsonAsync(await PostRegistrationAsync(http, "i1", 8080, ttl: 30), HttpStatusCode.OK);
        var grpc = await channel.AsyncUnaryCall(Register, RegistryTestBed.Instance("i2", port: 8081, ttl: 5)).ResponseAsync.DefaultTimeout();
        Assert.True(grpc.Created);
        Assert.Equal(["i1", "i2"], await IdsAsync(http, "name=video-svc"));

        // The same host:port over the other transport: refused, the holder named.
        var taken = RegistryTestBed.Instance("i3", port: 8080);
        taken.Host = "10.0.0.5";
        var conflict = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(Register, taken).ResponseAsync).DefaultTimeout();
        Assert.Equal((StatusCode.AlreadyExists, "port_conflict"), (conflict.StatusCode, conflict.Status.Reason()));
        Assert.Contains("'i1'", conflict.Status.Detail, StringComparison.Ordinal);

        clock.Advance(3);
        var beat = await JsonAsync(await http.PutAsync("/v1/services/i1/heartbeat", null).DefaultTimeout(), HttpStatusCode.OK);
        Assert.Equal(clock.GetUtcNow().AddSeconds(30), beat.GetProperty("expires_at").GetDateTimeOffset());

        // i2's lease (5 s) ends, and the expiry lag after it (for renewals a replica holds in memory): the
        // expiry pass, on its timer, expires it in Redis. A pass re-arms its timer when its Redis calls
        // return, perhaps for a moment the clock has passed: each poll advances by zero to fire it.
        clock.Advance(TimeSpan.FromSeconds(2) + RedisStoreOptions.DefaultExpiryLag);
        await Eventually.TrueAsync(async () =>
        {
            clock.Advance(TimeSpan.Zero);
            return (await IdsAsync(http, "status=expired")).SequenceEqual(["i2"]);
        }, "i2 to expire");
        Assert.Equal(["i1"], await IdsAsync(http, "status=healthy"));

        // What agents read in Redis (the reference's keys, under the prefix).
        var db = new RedisKeysProbe(redis);
        Assert.Equal(["i1", "i2"], await db.MembersAsync("e2e:svc:video-svc:instances"));
        Assert.Equal(["i1"], await db.ZMembersAsync("e2e:inst_expiry"));

        var set = await SendAsync(http, HttpMethod.Put, "/v1/policy/img.video.svc", """{"algorithm":"weighted_rr","weights":{"i1":2,"i2":1}}""", Token);
        await JsonAsync(set, HttpStatusCode.OK);
        var policy = await JsonAsync(await http.GetAsync("/v1/policy/img.video.svc").DefaultTimeout(), HttpStatusCode.OK);
        Assert.Equal("weighted_rr", policy.GetProperty("algorithm").GetString()); // the object itself, as the reference answers it
        using (var stored = JsonDocument.Parse(await db.GetAsync("e2e:policy:img.video.svc")))
        {
            Assert.Equal(2, stored.RootElement.GetProperty("weights").GetProperty("i1").GetInt32());
        }

        using (var deleted = await http.DeleteAsync("/v1/services/i1").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }
        Assert.Equal(["i2"], await IdsAsync(http, ""));
        AssertNoErrorLogs(host);
    }

    [Fact]
    public async Task WhenRedisStops_ReadyzIsNotReady_AndWritesAreUnavailable_UntilItReturns()
    {
        await using var redis = await RedisServer.StartAsync();
        await using var host = await ControlPlaneFixture.StartAsync(RedisArgs(redis, ""));
        using var http = host.CreateHttpClient();
        using var channel = host.CreateChannel();
        await Eventually.TrueAsync(async () => (await http.GetAsync("/readyz")).IsSuccessStatusCode, "ready");
        await JsonAsync(await PostRegistrationAsync(http, "i1", 8080, ttl: 30), HttpStatusCode.OK);

        await redis.StopAsync();

        using (var ready = await http.GetAsync("/readyz").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal("not_ready: store unreachable", await ready.Content.ReadAsStringAsync().DefaultTimeout());
        }
        var rest = await JsonAsync(await PostRegistrationAsync(http, "i2", 8081, ttl: 30), HttpStatusCode.ServiceUnavailable);
        AssertError(rest, (int)StatusCode.Unavailable, StoreUnavailableInterceptor.Reason);
        var beat = await JsonAsync(await http.PutAsync("/v1/services/i1/heartbeat", null).DefaultTimeout(), HttpStatusCode.ServiceUnavailable);
        AssertError(beat, (int)StatusCode.Unavailable, StoreUnavailableInterceptor.Reason);
        var grpc = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(Register, RegistryTestBed.Instance("i3")).ResponseAsync).DefaultTimeout();
        Assert.Equal((StatusCode.Unavailable, StoreUnavailableInterceptor.Reason), (grpc.StatusCode, grpc.Status.Reason()));
        // No handler failed with an unexpected exception: every failure was mapped.
        Assert.DoesNotContain(host.Logs.Entries, e => e.ToString().Contains("Exception was thrown by handler", StringComparison.Ordinal));

        await redis.StartAsync();
        await Eventually.TrueAsync(async () => (await http.GetAsync("/readyz")).IsSuccessStatusCode, "ready again");
        // The restarted test server kept nothing (no persistence): registering again works.
        await JsonAsync(await PostRegistrationAsync(http, "i2", 8081, ttl: 30), HttpStatusCode.OK);
    }

    [Fact]
    public async Task OnRedis_AReplicaStoppedGracefully_WritesTheRenewalsItAnsweredFromItsLeaseTable()
    {
        await using var redis = await RedisServer.StartAsync();
        var clock = new ManualTimeProvider();
        var db = new RedisKeysProbe(redis);
        DateTimeOffset answered;
        await using (var host = await ControlPlaneFixture.StartWithServicesAsync(
            services => services.AddSingleton<TimeProvider>(clock).AddSingleton(PlatformToken.FromValue(Token)), RedisArgs(redis, "stop:")))
        {
            using var http = host.CreateHttpClient();
            await JsonAsync(await PostRegistrationAsync(http, "i1", 8080, ttl: 30), HttpStatusCode.OK);
            // Within one checkpoint interval (the clock moves less than 1 s, so no checkpoint runs): the
            // first beat is written before it is answered, the second answered from the lease table.
            clock.Advance(0.25);
            var first = await JsonAsync(await http.PutAsync("/v1/services/i1/heartbeat", null).DefaultTimeout(), HttpStatusCode.OK);
            clock.Advance(0.5);
            answered = (await JsonAsync(await http.PutAsync("/v1/services/i1/heartbeat", null).DefaultTimeout(), HttpStatusCode.OK)).GetProperty("expires_at").GetDateTimeOffset();
            Assert.Equal(first.GetProperty("expires_at").GetDateTimeOffset().ToUnixTimeMilliseconds(), (long)(await db.ScoreAsync("stop:inst_expiry", "i1"))!.Value);
        }

        Assert.Equal(answered.ToUnixTimeMilliseconds(), (long)(await db.ScoreAsync("stop:inst_expiry", "i1"))!.Value);
    }

    [Fact]
    public async Task OnRedis_AnInstanceDeregisteredThroughAnotherReplica_IsNotFoundOnThisOne_AsSoonAsItFollowsTheChange()
    {
        await using var redis = await RedisServer.StartAsync();
        // A checkpoint (and an expiry pass, which checkpoints first) a minute away: only the change follower
        // can tell replica a of the deregistration in time.
        string[] args = [.. RedisArgs(redis, "follow:"), "--ControlPlane:Store:Redis:RenewalCheckpointInterval=00:01:00", "--ControlPlane:Registry:MaxPassInterval=00:01:00"];
        await using var a = await ControlPlaneFixture.StartAsync(args);
        await using var b = await ControlPlaneFixture.StartAsync(args);
        using var httpA = a.CreateHttpClient();
        using var httpB = b.CreateHttpClient();
        await JsonAsync(await PostRegistrationAsync(httpA, "i1", 8080, ttl: 30), HttpStatusCode.OK);
        for (var beat = 0; beat < 2; beat++)
        {
            // The first beat is written before it is answered and seeds a's lease table; the second is answered from it.
            await JsonAsync(await httpA.PutAsync("/v1/services/i1/heartbeat", null).DefaultTimeout(), HttpStatusCode.OK);
        }

        using (var deleted = await httpB.DeleteAsync("/v1/services/i1").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        // Pub/sub and the follower's read take milliseconds; without them, nothing tells a for a minute.
        await Eventually.WaitAsync("a heartbeat through replica a to answer not found", async () =>
        {
            using var beat = await httpA.PutAsync("/v1/services/i1/heartbeat", null).DefaultTimeout();
            return beat.StatusCode == HttpStatusCode.NotFound;
        }, TimeSpan.FromSeconds(10));
        AssertNoErrorLogs(a);
        AssertNoErrorLogs(b);
    }

    /// <summary>Reads keys the way an agent would, with a plain client.</summary>
    private sealed class RedisKeysProbe(RedisServer server)
    {
        private async Task<T> WithAsync<T>(Func<StackExchange.Redis.IDatabase, Task<T>> read)
        {
            using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").DefaultTimeout();
            try
            {
                return await read(connection.GetDatabase()).DefaultTimeout();
            }
            finally
            {
                connection.Close(allowCommandsToComplete: false);
            }
        }

        public Task<string[]> MembersAsync(string key) => WithAsync(async db => (await db.SetMembersAsync(key)).Select(v => (string)v!).Order(StringComparer.Ordinal).ToArray());

        public Task<string[]> ZMembersAsync(string key) => WithAsync(async db => (await db.SortedSetRangeByRankAsync(key)).Select(v => (string)v!).ToArray());

        public Task<string> GetAsync(string key) => WithAsync(async db => (string)(await db.StringGetAsync(key))!);

        public Task<double?> ScoreAsync(string key, string member) => WithAsync(db => db.SortedSetScoreAsync(key, member));
    }
}
