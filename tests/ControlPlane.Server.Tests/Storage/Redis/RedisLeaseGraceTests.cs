using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>
/// The lease extension after an outage: every live lease reaches at least now + its TTL (or the grace),
/// unless Redis has heard from another replica within the margin, by its own clock (<c>replica_contact</c>).
/// </summary>
public sealed class RedisLeaseGraceTests(RedisFixture redis) : IClassFixture<RedisFixture>, IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly List<RedisConnection> _connections = [];

    private RedisRegistryStore Store(string prefix)
    {
        var connection = redis.Connect(prefix);
        _connections.Add(connection);
        return new RedisRegistryStore(connection);
    }

    private static readonly TimeSpan Margin = TimeSpan.FromSeconds(3);

    private static InstanceSpec Spec(string id, int port, int ttl) => new(id, "svc", "img.a", "10.0.0.1", port, "", Google.Protobuf.ByteString.Empty, ttl);

    [Fact]
    public async Task EveryLiveLease_ReachesAtLeastNowPlusItsTtl_OncePerOutage()
    {
        redis.Require();
        var prefix = redis.NewPrefix();
        var (a, b) = (Store(prefix), Store(prefix));
        await a.RegisterAsync(Spec("short", 8081, ttl: 10), T0).DefaultTimeout();      // deadline T0+10: overdue at T0+15
        await a.RegisterAsync(Spec("long", 8082, ttl: 3600), T0.AddSeconds(12)).DefaultTimeout(); // renewed just before the outage: T0+3612
        await a.RegisterAsync(Spec("gone", 8083, ttl: 1), T0).DefaultTimeout();
        await a.ExpireAsync(["gone"], T0.AddSeconds(1)).DefaultTimeout();              // expired: not live, not extended
        var now = T0.AddSeconds(15);

        Assert.Equal(2, await a.ExtendLeasesAsync(now, null, "replica-a", Margin).DefaultTimeout());
        // The other replica back from the same outage: the extension was a's contact, so nothing left to do.
        Assert.Equal(RedisRegistryStore.OnlyThisReplicaWasCutOff, await b.ExtendLeasesAsync(now.AddSeconds(1), null, "replica-b", Margin).DefaultTimeout());

        Assert.Equal(now.AddSeconds(10), (await a.GetAsync("short").DefaultTimeout())!.ExpiresAt);
        // The extension is no heartbeat: the last one stays what it was.
        Assert.Equal(T0, (await a.GetAsync("short").DefaultTimeout())!.LastHeartbeatAt);
        Assert.Equal(now.AddSeconds(3600), (await a.GetAsync("long").DefaultTimeout())!.ExpiresAt);
        Assert.Equal(InstanceStatus.Expired, (await a.GetAsync("gone").DefaultTimeout())!.Status);
        Assert.Empty((await a.ScanExpiryAsync(now, TimeSpan.FromMinutes(1), 10).DefaultTimeout()).Overdue);

        // A renewal written late, its beat from before the outage (a replica's checkpoint that waited the
        // outage out): it must not take the extension back, or the instance expires as Redis returns.
        await b.RenewAsync(["short"], 0, T0.AddSeconds(2)).DefaultTimeout();
        Assert.Equal(now.AddSeconds(10), (await a.GetAsync("short").DefaultTimeout())!.ExpiresAt);
        Assert.Empty((await a.ScanExpiryAsync(now.AddSeconds(9), TimeSpan.FromMinutes(1), 10).DefaultTimeout()).Overdue);

        // Another outage, Redis having heard from no replica since a's extension, with a fixed grace of 1 h:
        // a lease already that long is not moved.
        await AgeContactsAsync(prefix, Margin + TimeSpan.FromSeconds(1));
        Assert.Equal(1, await b.ExtendLeasesAsync(now, TimeSpan.FromHours(1), "replica-b", Margin).DefaultTimeout());
        Assert.Equal((now.AddHours(1), now.AddSeconds(3600)), ((await a.GetAsync("short").DefaultTimeout())!.ExpiresAt, (await a.GetAsync("long").DefaultTimeout())!.ExpiresAt));
        Assert.Equal(T0, (await a.GetAsync("short").DefaultTimeout())!.LastHeartbeatAt);

        // Heartbeats never shorten a grace: within it the deadline stands; after it, it is the beat's again.
        await a.RenewAsync(["short"], 0, now.AddSeconds(5)).DefaultTimeout();
        Assert.Equal(now.AddHours(1), (await a.GetAsync("short").DefaultTimeout())!.ExpiresAt);
        var later = now.AddHours(1).AddSeconds(5);
        var beat = (await a.RenewAsync(["short"], 0, later).DefaultTimeout())[0];
        Assert.Equal(later.AddSeconds(10), beat.ExpiresAt);
        var renewed = (await a.GetAsync("short").DefaultTimeout())!;
        Assert.Equal((later, later.AddSeconds(10)), (renewed.LastHeartbeatAt, renewed.ExpiresAt));
    }

    [Fact]
    public async Task AReplicaBackWhileRedisHasBeenServingAnother_ExtendsNothing_ItsOwnContactAside()
    {
        redis.Require();
        var prefix = redis.NewPrefix();
        var (a, b) = (Store(prefix), Store(prefix));
        await a.RegisterAsync(Spec("short", 8081, ttl: 10), T0).DefaultTimeout();
        var now = T0.AddSeconds(15);
        // b's own entry, however recent, says nothing of the others; a has been in contact for longer than the margin.
        Assert.NotEqual(0, await b.TouchContactAsync("replica-b", DateTimeOffset.UtcNow, TimeSpan.FromSeconds(2), Margin).DefaultTimeout());
        Assert.NotEqual(0, await a.TouchContactAsync("replica-a", DateTimeOffset.UtcNow, TimeSpan.FromSeconds(2), Margin).DefaultTimeout());
        await BackdateRunAsync(prefix, "replica-a", Margin + TimeSpan.FromSeconds(1));

        Assert.Equal(RedisRegistryStore.OnlyThisReplicaWasCutOff, await b.ExtendLeasesAsync(now, null, "replica-b", Margin).DefaultTimeout());
        Assert.Equal(T0.AddSeconds(10), (await a.GetAsync("short").DefaultTimeout())!.ExpiresAt);
        Assert.Single((await a.ScanExpiryAsync(now, TimeSpan.Zero, 10).DefaultTimeout()).Overdue);

        // Once Redis has heard from no other replica for the margin, it was down for all: b extends.
        await AgeContactsAsync(prefix, Margin + TimeSpan.FromSeconds(1));
        await b.TouchContactAsync("replica-b", DateTimeOffset.UtcNow, TimeSpan.FromSeconds(2), Margin).DefaultTimeout();
        Assert.Equal(1, await b.ExtendLeasesAsync(now, null, "replica-b", Margin).DefaultTimeout());
        Assert.Equal(now.AddSeconds(10), (await a.GetAsync("short").DefaultTimeout())!.ExpiresAt);
    }

    [Fact]
    public async Task AReplicaThatHasJustStarted_IsNoSignRedisServedOthers_AndBackFromItsOwnOutage_NeitherUntilTheMarginPasses()
    {
        redis.Require();
        var prefix = redis.NewPrefix();
        var (a, b, c) = (Store(prefix), Store(prefix), Store(prefix));
        await a.RegisterAsync(Spec("short", 8081, ttl: 10), T0).DefaultTimeout();
        // c started during the Redis outage and touched as soon as Redis returned, before b (back from the
        // outage) extended: Redis has heard from c just now, but nothing from before.
        var first = await c.TouchContactAsync("replica-c", DateTimeOffset.UtcNow, TimeSpan.FromSeconds(2), Margin).DefaultTimeout();
        Assert.NotEqual(0, first);
        var again = await c.TouchContactAsync("replica-c", DateTimeOffset.UtcNow, TimeSpan.FromSeconds(2), Margin).DefaultTimeout();
        Assert.Equal(first, await RunSinceAsync(prefix, "replica-c")); // touches within the margin: the same run

        Assert.Equal(1, await b.ExtendLeasesAsync(T0.AddSeconds(15), null, "replica-b", Margin).DefaultTimeout());
        Assert.Equal(T0.AddSeconds(25), (await a.GetAsync("short").DefaultTimeout())!.ExpiresAt);

        // A touch more than the margin after the last one (c was cut off meanwhile) begins a new run.
        await AgeContactsAsync(prefix, Margin + TimeSpan.FromSeconds(1));
        var back = await c.TouchContactAsync("replica-c", DateTimeOffset.UtcNow, TimeSpan.FromSeconds(2), Margin).DefaultTimeout();
        Assert.True(back >= again, $"{back} < {again}");
        Assert.Equal(back, await RunSinceAsync(prefix, "replica-c"));
        Assert.Equal(1, await a.ExtendLeasesAsync(T0.AddSeconds(30), null, "replica-a", Margin).DefaultTimeout());
    }

    [Fact]
    public async Task ATouchReachingRedisLate_IsNoContact()
    {
        redis.Require();
        var prefix = redis.NewPrefix();
        var (a, b) = (Store(prefix), Store(prefix));
        await a.RegisterAsync(Spec("short", 8081, ttl: 10), T0).DefaultTimeout();
        // Sent 5 s ago (held by a hung Redis, run as it woke): not noted, so it does not keep b from extending.
        Assert.Equal(0, await a.TouchContactAsync("replica-a", DateTimeOffset.UtcNow.AddSeconds(-5), TimeSpan.FromSeconds(2), Margin).DefaultTimeout());
        Assert.Equal(1, await b.ExtendLeasesAsync(T0.AddSeconds(15), null, "replica-b", Margin).DefaultTimeout());
    }

    /// <summary>Moves the start of <paramref name="replica"/>'s run of contact <paramref name="by"/> into the past: in contact that much longer.</summary>
    private async Task BackdateRunAsync(string prefix, string replica, TimeSpan by)
    {
        var since = await RunSinceAsync(prefix, replica);
        await redis.AdminDatabase.HashSetAsync(prefix + "replica_contact_since", replica, since - (long)by.TotalMilliseconds).DefaultTimeout();
    }

    /// <summary>Since when (Redis's clock, ms) Redis has heard from <paramref name="replica"/> without a break.</summary>
    private async Task<long> RunSinceAsync(string prefix, string replica) =>
        (long)await redis.AdminDatabase.HashGetAsync(prefix + "replica_contact_since", replica).DefaultTimeout();

    /// <summary>Moves every <c>replica_contact</c> entry <paramref name="by"/> into the past: Redis has heard from no replica since.</summary>
    private async Task AgeContactsAsync(string prefix, TimeSpan by)
    {
        var db = redis.AdminDatabase;
        foreach (var entry in await db.HashGetAllAsync(prefix + "replica_contact").DefaultTimeout())
        {
            await db.HashSetAsync(prefix + "replica_contact", entry.Name, (long)entry.Value - (long)by.TotalMilliseconds).DefaultTimeout();
        }
    }

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }
}
