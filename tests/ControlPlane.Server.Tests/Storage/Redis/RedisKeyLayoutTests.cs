using System.Text.Json;
using ControlPlane.Api.V1;
using ControlPlane.Server.Policies;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;
using Google.Protobuf;
using StackExchange.Redis;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>
/// The keys agents and operators read (the reference's <c>policy:{image}</c>, <c>svc:{name}:instances</c>,
/// <c>inst:{id}</c>, <c>inst_expiry</c>) hold what docs/redis.md says, and no undocumented key exists.
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
        // As a store written by an earlier version has it: the instance's record and lease, no inst_ttl.
        await db.KeyDeleteAsync("inst_ttl").DefaultTimeout();

        var outcomes = await registry.RenewAsync(["i1", "nobody"], 0, T0.AddSeconds(10)).DefaultTimeout();
        Assert.Equal((RenewResult.Renewed, T0.AddSeconds(40)), (outcomes[0].Result, outcomes[0].ExpiresAt));
        Assert.Equal(RenewResult.NotFound, outcomes[1].Result);
        Assert.Equal(T0Ms + 40_000, await db.SortedSetScoreAsync("inst_expiry", "i1").DefaultTimeout());
        Assert.Equal(30, (long)await db.HashGetAsync("inst_ttl", "i1").DefaultTimeout());
        Assert.False(await db.HashExistsAsync("inst_ttl", "nobody").DefaultTimeout());
    }

    [Fact]
    public async Task RecordsAnEarlierVersionWroteAsHashes_AreRead_AndWrittenAsJsonWhenTheyChange()
    {
        redis.Require();
        await redis.AdminServer.FlushDatabaseAsync(0).DefaultTimeout();
        var (registry, _) = Stores("");
        var db = redis.AdminDatabase;
        // Every kind of metadata value, as the earlier version kept it: the Struct's protobuf bytes.
        var metadata = Google.Protobuf.WellKnownTypes.Struct.Parser.ParseJson(
            "{\"weight\": 2, \"tags\": [\"a\", 1.5, true, null, {\"x\": \"\\u00e9\\\"/\"}], \"empty\": {}, \"off\": false, \"big\": -1e300}");
        var live = Spec() with { MetadataBytes = InstanceSpec.Encode(metadata) };
        await WriteLegacyAsync(db, live, "healthy", T0Ms, T0Ms + 30_000, expiredAt: null);
        var gone = Spec() with { InstanceId = "i2", Port = 8081, MetadataBytes = ByteString.Empty };
        await WriteLegacyAsync(db, gone, "expired", T0Ms, T0Ms + 30_000, expiredAt: T0Ms + 30_000);

        // Read as they are: one at a time, listed, counted.
        var record = (await registry.GetAsync("i1").DefaultTimeout())!;
        Assert.Equal(live, record.Spec);
        Assert.Equal((InstanceStatus.Healthy, T0, T0.AddSeconds(30)), (record.Status, record.RegisteredAt, record.ExpiresAt));
        var listed = await registry.ListAsync(new InstanceQuery(Image: "img.video.svc")).DefaultTimeout();
        Assert.Equal([("i1", InstanceStatus.Healthy), ("i2", InstanceStatus.Expired)], listed.Select(r => (r.InstanceId, r.Status)));
        Assert.Equal(T0.AddSeconds(30), listed[1].ExpiredAt);
        Assert.Equal(new RegistryCounts(1, 0, 1), await registry.CountAsync().DefaultTimeout());
        Assert.Equal(RedisType.Hash, await db.KeyTypeAsync("inst:i1").DefaultTimeout());

        // Changed: written as JSON, the metadata the same Struct.
        var drained = (await registry.SetDrainingAsync("i1", true).DefaultTimeout())!;
        Assert.Equal((InstanceStatus.Draining, live), (drained.Status, drained.Spec));
        Assert.Equal(RedisType.String, await db.KeyTypeAsync("inst:i1").DefaultTimeout());
        using (var json = await InstanceAsync(db, "inst:i1"))
        {
            Assert.Equal("draining", json.RootElement.GetProperty("status").GetString());
            Assert.Equal(metadata, Google.Protobuf.WellKnownTypes.Struct.Parser.ParseJson(json.RootElement.GetProperty("metadata").GetRawText()));
        }
        Assert.Equal(live, (await registry.GetAsync("i1").DefaultTimeout())!.Spec);

        // Back from expiry by registering again; removed without a trace.
        var back = await registry.RegisterAsync(gone, T0.AddSeconds(60)).DefaultTimeout();
        Assert.Equal((RegisterResult.Updated, InstanceStatus.Healthy, T0), (back.Result, back.Instance!.Status, back.Instance.RegisteredAt));
        Assert.Equal(RedisType.String, await db.KeyTypeAsync("inst:i2").DefaultTimeout());
        await registry.DeregisterAsync("i1").DefaultTimeout();
        await registry.DeregisterAsync("i2").DefaultTimeout();
        Assert.Equal(["change_epoch", "change_log", "change_rev"], await KeysAsync(db));
    }

    /// <summary>An instance as the version before JSON records wrote it: a hash of text fields, and its indexes.</summary>
    private static async Task WriteLegacyAsync(IDatabase db, InstanceSpec spec, string status, long registeredAt, long expiresAt, long? expiredAt)
    {
        var endpoint = RedisInstanceRecords.EndpointField(spec.Host, spec.Port);
        var fields = new List<HashEntry>
        {
            new("instance_id", spec.InstanceId), new("name", spec.Name), new("image", spec.Image), new("registered_at", registeredAt),
            new("host", spec.Host), new("port", spec.Port), new("region", spec.Region), new("metadata", spec.MetadataBytes.ToByteArray()),
            new("ttl_seconds", spec.TtlSeconds), new("status", status), new("last_heartbeat", registeredAt), new("expires_at", expiresAt), new("endpoint", endpoint),
        };
        if (expiredAt is { } at)
        {
            fields.Add(new("expired_at", at));
            await db.SortedSetAddAsync("inst_expired", spec.InstanceId, at).DefaultTimeout();
        }
        else
        {
            await db.SortedSetAddAsync("inst_expiry", spec.InstanceId, expiresAt).DefaultTimeout();
            await db.HashSetAsync("inst_ttl", spec.InstanceId, spec.TtlSeconds).DefaultTimeout();
            await db.HashSetAsync("inst_endpoints", endpoint, spec.InstanceId).DefaultTimeout();
        }
        await db.HashSetAsync("inst:" + spec.InstanceId, [.. fields]).DefaultTimeout();
        await db.SortedSetAddAsync("instances", spec.InstanceId, 0).DefaultTimeout();
        await db.SetAddAsync("svc:" + spec.Name + ":instances", spec.InstanceId).DefaultTimeout();
        await db.SetAddAsync("img:" + spec.Image + ":instances", spec.InstanceId).DefaultTimeout();
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
        // inst:{id} is the reference's JSON: what an agent reading the registry gets with GET.
        using (var instance = await InstanceAsync(db, "inst:i1"))
        {
            var root = instance.RootElement;
            Assert.Equal(
                ["instance_id", "name", "image", "host", "port", "region", "ttl_seconds", "status", "registered_at", "last_heartbeat", "expires_at", "endpoint", "metadata"],
                root.EnumerateObject().Select(p => p.Name));
            Assert.Equal(("i1", "video-svc", "img.video.svc", "10.0.0.5", 8080, "eu-central", 30, "healthy"),
                (root.GetProperty("instance_id").GetString(), root.GetProperty("name").GetString(), root.GetProperty("image").GetString(), root.GetProperty("host").GetString(),
                    root.GetProperty("port").GetInt32(), root.GetProperty("region").GetString(), root.GetProperty("ttl_seconds").GetInt32(), root.GetProperty("status").GetString()));
            Assert.Equal((T0Ms, T0Ms, T0Ms + 30_000),
                (root.GetProperty("registered_at").GetInt64(), root.GetProperty("last_heartbeat").GetInt64(), root.GetProperty("expires_at").GetInt64()));
            Assert.Equal("{\"weight\":2}", root.GetProperty("metadata").GetRawText());
        }

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

        // A renewal moves only the deadline; the JSON keeps the lease it had, and the record is read from both.
        await registry.RenewAsync(["i1"], 0, T0.AddSeconds(10)).DefaultTimeout();
        Assert.Equal(T0Ms + 40_000, await db.SortedSetScoreAsync("inst_expiry", "i1").DefaultTimeout());
        Assert.Equal(T0Ms + 30_000, await LongAsync(db, "inst:i1", "expires_at"));
        var renewed = (await registry.GetAsync("i1").DefaultTimeout())!;
        Assert.Equal((T0.AddSeconds(10), T0.AddSeconds(40)), (renewed.LastHeartbeatAt, renewed.ExpiresAt));

        // Expired: out of the lease set, the TTLs and the endpoint guard, into the retention set; the
        // JSON keeps the lease the instance ended with.
        await registry.ExpireAsync(["i1"], T0.AddSeconds(40)).DefaultTimeout();
        Assert.Null(await db.SortedSetScoreAsync("inst_expiry", "i1").DefaultTimeout());
        Assert.False(await db.HashExistsAsync("inst_ttl", "i1").DefaultTimeout());
        Assert.Equal((T0Ms + 10_000, T0Ms + 40_000), (await LongAsync(db, "inst:i1", "last_heartbeat"), await LongAsync(db, "inst:i1", "expires_at")));
        Assert.Equal(T0Ms + 40_000, await db.SortedSetScoreAsync("inst_expired", "i1").DefaultTimeout());
        Assert.False(await db.HashExistsAsync("inst_endpoints", "10.0.0.5:8080").DefaultTimeout());
        using (var expired = await InstanceAsync(db, "inst:i1"))
        {
            Assert.Equal(("expired", T0Ms + 40_000), (expired.RootElement.GetProperty("status").GetString(), expired.RootElement.GetProperty("expired_at").GetInt64()));
        }

        Assert.Equal((T0Ms + 40_000, "4 endpoints img.video.svc i1"), ((long)(await db.SortedSetRangeByRankWithScoresAsync("inst_expirations"))[0].Score, (await LogAsync(db))[^1]));

        // Removed: nothing of the instance is left, only the policy and its trail (and the change
        // log, and the expiry for self-preservation's window); removing the image's last expired
        // instance removes its endpoint set, so it is a change naming the instance.
        await registry.RemoveExpiredAsync(T0.AddSeconds(110), TimeSpan.FromSeconds(60)).DefaultTimeout();
        Assert.Equal(["change_epoch", "change_log", "change_rev", "inst_expirations", "policies", "policy:img.video.svc", "policy_changes:img.video.svc"], await KeysAsync(db));
        Assert.Equal(5, (long)await db.StringGetAsync("change_rev").DefaultTimeout());
        Assert.Equal("5 endpoints img.video.svc i1", (await LogAsync(db))[^1]);
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

    private static async Task<JsonDocument> InstanceAsync(IDatabase db, string key) =>
        JsonDocument.Parse((string)(await db.StringGetAsync(key).DefaultTimeout())!);

    private static async Task<long> LongAsync(IDatabase db, string key, string property)
    {
        using var instance = await InstanceAsync(db, key);
        return instance.RootElement.GetProperty(property).GetInt64();
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
