using System.Text.Json;
using ControlPlane.Api.V1;
using ControlPlane.Server.Policies;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;
using StackExchange.Redis;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>
/// The keys agents and operators read (the reference's <c>policy:{image}</c>, <c>svc:{name}:instances</c>,
/// <c>inst:{id}</c>, <c>inst_expiry</c>) hold what the README says, and no undocumented key exists.
/// </summary>
public sealed class RedisKeyLayoutTests(RedisFixture redis) : IClassFixture<RedisFixture>, IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly long T0Ms = T0.ToUnixTimeMilliseconds();
    private readonly List<RedisConnection> _connections = [];

    private (RedisRegistryStore Registry, RedisPolicyStore Policies) Stores(string prefix)
    {
        var connection = redis.Connect(prefix);
        _connections.Add(connection);
        return (new RedisRegistryStore(connection), new RedisPolicyStore(connection));
    }

    private static InstanceSpec Spec() => new("i1", "video-svc", "img.video.svc", "10.0.0.5", 8080, "eu-central",
        InstanceSpec.Encode(Google.Protobuf.WellKnownTypes.Struct.Parser.ParseJson("{\"weight\": 2}")), 30);

    private static RoutingPolicy Policy()
    {
        var policy = new RoutingPolicy { Image = "img.video.svc", Algorithm = "weighted_rr", Weights = { ["i1"] = 2, ["i2"] = 1 } };
        policy.Version = PolicyRegistry.VersionOf(policy);
        return policy;
    }

    [Fact]
    public async Task AnInstanceRegisteredBeforeInstTtlExisted_IsRenewed_AndGetsItsEntry()
    {
        redis.Require();
        await redis.AdminServer.FlushDatabaseAsync(0).DefaultTimeout();
        var (registry, _) = Stores("");
        var db = redis.AdminDatabase;
        await registry.RegisterAsync(Spec(), T0).DefaultTimeout();
        // As a store written by an earlier version has it: the instance's hash and lease, no inst_ttl.
        await db.KeyDeleteAsync("inst_ttl").DefaultTimeout();

        var outcomes = await registry.RenewAsync(["i1", "nobody"], 0, T0.AddSeconds(10)).DefaultTimeout();
        Assert.Equal((RenewResult.Renewed, T0.AddSeconds(40)), (outcomes[0].Result, outcomes[0].ExpiresAt));
        Assert.Equal(RenewResult.NotFound, outcomes[1].Result);
        Assert.Equal(T0Ms + 40_000, await db.SortedSetScoreAsync("inst_expiry", "i1").DefaultTimeout());
        Assert.Equal(30, (long)await db.HashGetAsync("inst_ttl", "i1").DefaultTimeout());
        Assert.False(await db.HashExistsAsync("inst_ttl", "nobody").DefaultTimeout());
    }

    [Fact]
    public async Task WithoutAPrefix_TheKeysAreTheReferences_AndHoldWhatTheyShould()
    {
        redis.Require();
        await redis.AdminServer.FlushDatabaseAsync(0).DefaultTimeout();
        var (registry, policies) = Stores("");
        var db = redis.AdminDatabase;

        await registry.RegisterAsync(Spec(), T0).DefaultTimeout();
        await policies.SetAsync(Policy(), new PolicyAudit(T0, "ops", "", "r1")).DefaultTimeout();

        Assert.Equal(["i1"], (await db.SetMembersAsync("svc:video-svc:instances").DefaultTimeout()).Select(v => (string)v!));
        Assert.Equal(["i1"], (await db.SetMembersAsync("img:img.video.svc:instances").DefaultTimeout()).Select(v => (string)v!));
        Assert.Equal(T0Ms + 30_000, await db.SortedSetScoreAsync("inst_expiry", "i1").DefaultTimeout());
        Assert.Equal(30, (long)await db.HashGetAsync("inst_ttl", "i1").DefaultTimeout());
        Assert.Equal(0, await db.SortedSetScoreAsync("instances", "i1").DefaultTimeout());
        Assert.Equal("i1", (string?)await db.HashGetAsync("inst_endpoints", "10.0.0.5:8080").DefaultTimeout());
        var instance = (await db.HashGetAllAsync("inst:i1").DefaultTimeout()).ToDictionary(e => (string)e.Name!, e => e.Value);
        Assert.Equal(
            ["endpoint", "expires_at", "host", "image", "instance_id", "last_heartbeat", "metadata", "name", "port", "region", "registered_at", "status", "ttl_seconds"],
            instance.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(("video-svc", "img.video.svc", "10.0.0.5", "8080", "30", "healthy"),
            ((string?)instance["name"], (string?)instance["image"], (string?)instance["host"], (string?)instance["port"], (string?)instance["ttl_seconds"], (string?)instance["status"]));
        Assert.Equal((T0Ms, T0Ms, T0Ms + 30_000), ((long)instance["registered_at"], (long)instance["last_heartbeat"], (long)instance["expires_at"]));
        Assert.Equal(Spec().MetadataBytes.ToByteArray(), (byte[])instance["metadata"]!);

        using var json = JsonDocument.Parse((string)(await db.StringGetAsync("policy:img.video.svc").DefaultTimeout())!);
        Assert.Equal("img.video.svc", json.RootElement.GetProperty("image").GetString());
        Assert.Equal("weighted_rr", json.RootElement.GetProperty("algorithm").GetString());
        Assert.Equal(2, json.RootElement.GetProperty("weights").GetProperty("i1").GetInt32());
        Assert.Equal(Policy().Version, json.RootElement.GetProperty("version").GetString());
        Assert.Equal(0, await db.SortedSetScoreAsync("policies", "img.video.svc").DefaultTimeout());
        using var change = JsonDocument.Parse((string)(await db.ListGetByIndexAsync("policy_changes:img.video.svc", 0).DefaultTimeout())!);
        Assert.Equal(("set", "ops"), (change.RootElement.GetProperty("action").GetString(), change.RootElement.GetProperty("actor").GetString()));

        await registry.SetDrainingAsync("i1", true).DefaultTimeout();
        Assert.True(await db.SetContainsAsync("inst_draining", "i1").DefaultTimeout());
        Assert.Equal(
            ["change_epoch", "change_log", "change_rev", "img:img.video.svc:instances", "inst:i1", "inst_draining", "inst_endpoints", "inst_expiry", "inst_ttl", "instances", "policies",
                "policy:img.video.svc", "policy_changes:img.video.svc", "svc:video-svc:instances"],
            await KeysAsync(db));
        // Every change to what nodes are sent has a revision and a log entry.
        Assert.Equal(3, (long)await db.StringGetAsync("change_rev").DefaultTimeout());
        // An endpoints entry names the instances that changed, so that replicas read only those.
        Assert.Equal(["1 endpoints img.video.svc i1", "2 policy img.video.svc", "3 endpoints img.video.svc i1"], await LogAsync(db));

        // A renewal moves only the deadline; the hash keeps the lease it had, and the record is read from both.
        await registry.RenewAsync(["i1"], 0, T0.AddSeconds(10)).DefaultTimeout();
        Assert.Equal(T0Ms + 40_000, await db.SortedSetScoreAsync("inst_expiry", "i1").DefaultTimeout());
        Assert.Equal(T0Ms + 30_000, (long)await db.HashGetAsync("inst:i1", "expires_at").DefaultTimeout());
        var renewed = (await registry.GetAsync("i1").DefaultTimeout())!;
        Assert.Equal((T0.AddSeconds(10), T0.AddSeconds(40)), (renewed.LastHeartbeatAt, renewed.ExpiresAt));

        // Expired: out of the lease set, the TTLs and the endpoint guard, into the retention set; the
        // hash keeps the lease the instance ended with.
        await registry.ExpireAsync(["i1"], T0.AddSeconds(40)).DefaultTimeout();
        Assert.Null(await db.SortedSetScoreAsync("inst_expiry", "i1").DefaultTimeout());
        Assert.False(await db.HashExistsAsync("inst_ttl", "i1").DefaultTimeout());
        Assert.Equal((T0Ms + 10_000, T0Ms + 40_000), ((long)await db.HashGetAsync("inst:i1", "last_heartbeat").DefaultTimeout(), (long)await db.HashGetAsync("inst:i1", "expires_at").DefaultTimeout()));
        Assert.Equal(T0Ms + 40_000, await db.SortedSetScoreAsync("inst_expired", "i1").DefaultTimeout());
        Assert.False(await db.HashExistsAsync("inst_endpoints", "10.0.0.5:8080").DefaultTimeout());
        Assert.Equal(("expired", T0Ms + 40_000), ((string?)await db.HashGetAsync("inst:i1", "status"), (long)await db.HashGetAsync("inst:i1", "expired_at")));

        Assert.Equal((T0Ms + 40_000, "4 endpoints img.video.svc i1"), ((long)(await db.SortedSetRangeByRankWithScoresAsync("inst_expirations"))[0].Score, (await LogAsync(db))[^1]));

        // Removed: nothing of the instance is left, only the policy and its trail (and the change
        // log, and the expiry for self-preservation's window); removing an expired instance changes
        // nothing nodes are sent.
        await registry.RemoveExpiredAsync(T0.AddSeconds(110), TimeSpan.FromSeconds(60)).DefaultTimeout();
        Assert.Equal(["change_epoch", "change_log", "change_rev", "inst_expirations", "policies", "policy:img.video.svc", "policy_changes:img.video.svc"], await KeysAsync(db));
        Assert.Equal(4, (long)await db.StringGetAsync("change_rev").DefaultTimeout());
    }

    [Fact]
    public async Task WithAPrefix_EveryKeyStartsWithIt()
    {
        redis.Require();
        await redis.AdminServer.FlushDatabaseAsync(0).DefaultTimeout();
        var prefix = "cp-" + redis.NewPrefix();
        var (registry, policies) = Stores(prefix);

        await registry.RegisterAsync(Spec(), T0).DefaultTimeout();
        await registry.SetDrainingAsync("i1", true).DefaultTimeout();
        await policies.SetAsync(Policy(), new PolicyAudit(T0, "ops", "", "r1")).DefaultTimeout();
        await registry.RegisterAsync(Spec() with { InstanceId = "i2", Port = 8081, TtlSeconds = 1 }, T0).DefaultTimeout();
        await registry.ExpireAsync(["i2"], T0.AddSeconds(1)).DefaultTimeout();

        var keys = await KeysAsync(redis.AdminDatabase);
        Assert.All(keys, k => Assert.StartsWith(prefix, k, StringComparison.Ordinal));
        Assert.Equal(
            ["change_epoch", "change_log", "change_rev", "img:img.video.svc:instances", "inst:i1", "inst:i2", "inst_draining", "inst_endpoints", "inst_expirations", "inst_expired", "inst_expiry",
                "inst_ttl", "instances", "policies", "policy:img.video.svc", "policy_changes:img.video.svc", "svc:video-svc:instances"],
            keys.Select(k => k[prefix.Length..]).Order(StringComparer.Ordinal));
    }

    private static async Task<string[]> LogAsync(IDatabase db) =>
        [.. (await db.SortedSetRangeByRankAsync("change_log").DefaultTimeout()).Select(v => (string)v!)];

    private static async Task<string[]> KeysAsync(IDatabase db) =>
        [.. ((RedisResult[])(await db.ExecuteAsync("KEYS", "*").DefaultTimeout())!).Select(k => (string)k!).Order(StringComparer.Ordinal)];

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }
}
