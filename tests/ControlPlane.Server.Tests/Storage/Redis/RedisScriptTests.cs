using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>How the store talks to Redis: one script call per heartbeat message, scripts by SHA with a fallback.</summary>
public sealed class RedisScriptTests(RedisFixture redis) : IClassFixture<RedisFixture>, IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private RedisConnection? _connection;

    private RedisRegistryStore Store()
    {
        _connection = redis.Connect(redis.NewPrefix());
        return new RedisRegistryStore(_connection);
    }

    private static InstanceSpec Spec(string id, int port) => new(id, "svc", "img", "10.0.0.1", port, "", Google.Protobuf.ByteString.Empty, 30);

    /// <summary>Calls of a command since the last CONFIG RESETSTAT (INFO commandstats), counting only calls from clients, not from scripts.</summary>
    private async Task<long> CallsAsync(string command)
    {
        var stats = await redis.AdminServer.InfoAsync("commandstats").DefaultTimeout();
        var entry = stats.SelectMany(g => g).FirstOrDefault(e => e.Key == "cmdstat_" + command);
        return entry.Value is null ? 0 : long.Parse(entry.Value.Split(',')[0]["calls=".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task ARecordThatCannotBeRead_FailsItsRegistrationAlone_AndLeavesTheOthersOfTheBatchWhole()
    {
        // Something else wrote inst:bad. Registrations sharing a script call with it used to be left
        // half-written (records and endpoints, but no listing, expiry or TTL: never expiring).
        redis.Require();
        var prefix = redis.NewPrefix();
        _connection = redis.Connect(prefix);
        var store = new RedisRegistryStore(_connection);
        await redis.AdminDatabase.StringSetAsync(prefix + "inst:bad", "not a record").DefaultTimeout();
        var ids = Enumerable.Range(0, 40).Select(i => $"i{i}").ToArray();

        var calls = ids.Select((id, i) => store.RegisterAsync(Spec(id, 20_000 + i), T0).AsTask())
            .Append(store.RegisterAsync(Spec("bad", 19_999), T0).AsTask()).ToArray();
        var bad = await Assert.ThrowsAsync<ControlPlane.Grpc.RpcException>(() => calls[^1]).DefaultTimeout();
        await Task.WhenAll(calls[..^1]).DefaultTimeout();

        Assert.Equal("store_record_unreadable", ControlPlane.Grpc.RpcErrors.Reason(bad.Status));
        Assert.All(calls[..^1], c => Assert.Equal(RegisterResult.Created, ((Task<RegisterOutcome>)c).Result.Result));
        var listed = await store.ListAsync(new InstanceQuery()).DefaultTimeout();
        Assert.Equal(ids.Order(StringComparer.Ordinal), listed.Select(r => r.Spec.InstanceId).Order(StringComparer.Ordinal));
        Assert.Equal(40, await redis.AdminDatabase.SortedSetLengthAsync(prefix + "inst_expiry").DefaultTimeout());
        Assert.False(await redis.AdminDatabase.HashExistsAsync(prefix + "inst_endpoints", "10.0.0.1:19999").DefaultTimeout()); // nothing written for bad
    }

    [Fact]
    public async Task RegisteringAgain_RestoresAnInstancesMissingIndexEntries()
    {
        redis.Require();
        var prefix = redis.NewPrefix();
        _connection = redis.Connect(prefix);
        var store = new RedisRegistryStore(_connection);
        await store.RegisterAsync(Spec("i1", 8080), T0).DefaultTimeout();
        await redis.AdminDatabase.KeyDeleteAsync([prefix + "instances", prefix + "svc:svc:instances", prefix + "img:img:instances"]).DefaultTimeout();

        var again = await store.RegisterAsync(Spec("i1", 8080), T0.AddSeconds(1)).DefaultTimeout();

        Assert.Equal(RegisterResult.Updated, again.Result);
        Assert.Equal(["i1"], (await store.ListAsync(new InstanceQuery()).DefaultTimeout()).Select(r => r.Spec.InstanceId));
        Assert.Equal(["i1"], (await store.ListAsync(new InstanceQuery(Image: "img")).DefaultTimeout()).Select(r => r.Spec.InstanceId));
    }

    [Fact]
    public async Task RenewingAThousandInstances_IsOneScriptCall()
    {
        redis.Require();
        var store = Store();
        var ids = Enumerable.Range(0, 1000).Select(i => $"i{i}").ToArray();
        await Task.WhenAll(ids.Select((id, i) => store.RegisterAsync(Spec(id, 10_000 + i), T0).AsTask())).DefaultTimeout();
        // The first renewal on a server loads the script (EVALSHA answers NOSCRIPT, then EVAL); count a later one.
        await store.RenewAsync(ids, 0, T0).DefaultTimeout();
        await redis.AdminServer.ConfigResetStatisticsAsync().DefaultTimeout();

        var outcomes = await store.RenewAsync(ids, 0, T0.AddSeconds(1)).DefaultTimeout();

        Assert.All(outcomes, o => Assert.Equal(RenewResult.Renewed, o.Result));
        Assert.Equal(1, await CallsAsync("evalsha") + await CallsAsync("eval"));
    }

    [Fact]
    public async Task AfterTheServerForgetsTheScripts_CallsStillWork_AndReloadThemOnce()
    {
        redis.Require();
        var store = Store();
        await store.RegisterAsync(Spec("i1", 8080), T0).DefaultTimeout();
        await redis.AdminServer.ScriptFlushAsync().DefaultTimeout();
        await redis.AdminServer.ConfigResetStatisticsAsync().DefaultTimeout();

        var first = await store.RenewAsync(["i1"], 0, T0.AddSeconds(1)).DefaultTimeout();
        var second = await store.RenewAsync(["i1"], 0, T0.AddSeconds(2)).DefaultTimeout();

        Assert.Equal([RenewResult.Renewed, RenewResult.Renewed], new[] { first[0].Result, second[0].Result });
        // EVALSHA failed (NOSCRIPT), EVAL ran and cached it, the next EVALSHA found it.
        Assert.Equal((1, 2), (await CallsAsync("eval"), await CallsAsync("evalsha")));
    }

    public void Dispose() => _connection?.Dispose();
}
