using ControlPlane.Api.V1;
using ControlPlane.Server.Replication;
using ControlPlane.Server.Storage.Redis;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Server.Tests.Replication;

/// <summary>
/// The lease grace over outages that follow one another: whichever replica reaches Redis first after
/// an outage of Redis itself extends the leases, whatever it saw of earlier outages, so no instance
/// expires for heartbeats no replica could record. Redis judges an outage by its own clock (how long
/// it heard from no replica), so each outage here lasts past that margin in real time; the leases
/// run on the replicas' virtual clock.
/// </summary>
public sealed class LeaseGraceAcrossOutagesTests
{
    private static readonly string[] QuickTimeout = ["--ControlPlane:Store:Redis:CommandTimeout=00:00:00.500", "--ControlPlane:Replication:HandOffNodesAfter=00:00:00"];

    /// <summary>How long Redis must have heard from no replica for an outage to be one of Redis itself (the default revision check interval's).</summary>
    private static readonly TimeSpan Margin = (2 * new ReplicationOptions().RevisionCheckInterval) + TimeSpan.FromSeconds(1);

    [Fact]
    public async Task AReplicaBackAfterTwoOutages_TheOtherBackBetweenThem_ExtendsTheLeases_AndNothingExpires()
    {
        await using var redis = await RedisServer.StartAsync();
        var clock = new ManualTimeProvider();
        await using var toA = TcpRelay.Start(redis.Port);
        await using var toB = TcpRelay.Start(redis.Port);
        await using var set = await ReplicaSet.StartAsync(redis, 0, clock, args: QuickTimeout);
        var a = await set.AddReplicaAsync("cp-a", [.. QuickTimeout, Through(toA)]);
        var b = await set.AddReplicaAsync("cp-b", [.. QuickTimeout, Through(toB)]);
        await a.RegisterAsync("i1", "img.a", 8081, ttl: 10);
        await set.WaitWhileTimePassesAsync("both replicas' contact in Redis", () => set.Database.HashLength(set.Prefix + "replica_contact") == 2, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(200));

        // Outage 1, of every replica; i1's deadline passes.
        toA.Cut();
        toB.Cut();
        await set.WaitWhileTimePassesAsync("both replicas to notice the first outage", () => Grace(a).OutagePending && Grace(b).OutagePending, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(500));
        clock.Advance(TimeSpan.FromSeconds(15));
        await WaitForRedisToHearFromNoReplicaAsync(set);

        // Redis is back for a only: a extends, and hears of its own extension. (On a loaded machine the
        // extension a starts as its connection returns can time out; the next expiry pass, on the replicas'
        // clock, extends then. Time enough for a few of them, and i1's extended deadline still falls in outage 2.)
        toA.Restore();
        await WaitForConnectionAsync(a);
        await set.WaitWhileTimePassesAsync("a to extend the leases", () => a.LogsOf(8111).Count == 1 && !Grace(a).OutagePending, TimeSpan.FromSeconds(8), TimeSpan.FromMilliseconds(100));
        await Eventually.WaitAsync("a to hear of the extension", async () => a.Follower.AppliedRevision == await set.RevisionAsync());

        // Outage 2, again of every replica (b never got back); i1's extended deadline passes too.
        toA.Cut();
        await set.WaitWhileTimePassesAsync("a to notice the second outage", () => Grace(a).OutagePending, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(500));
        clock.Advance(TimeSpan.FromSeconds(15));
        await WaitForRedisToHearFromNoReplicaAsync(set);

        // Redis returns, and b reaches it first: b extends before its expiry pass runs. (Its connection comes
        // back in real time, with the replicas' clock standing still until then: the calls that tell b Redis
        // answers again, run on that clock, must not run out of budget before the connection is there.)
        toB.Restore();
        var passes = b.Expiry.Passes;
        await WaitForConnectionAsync(b);
        await set.WaitWhileTimePassesAsync("b to settle its outage and run an expiry pass", () => !Grace(b).OutagePending && b.Expiry.Passes > passes, TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(100));
        Assert.Single(b.LogsOf(8111));
        var i1 = (await b.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = "i1" }).DefaultTimeout()).Instance;
        Assert.Equal("healthy", i1.Status);
        Assert.True(i1.ExpiresAt.ToDateTimeOffset() >= clock.GetUtcNow().AddSeconds(7), $"i1 expires at {i1.ExpiresAt}, now {clock.GetUtcNow():O}");

        // a, back later (by Redis's clock, more than the margin after b extended, while the replicas' clock
        // stands still), finds the leases extended: b has kept in touch since, so Redis has just heard from it.
        var extendedAt = await LastContactAsync(set);
        await Eventually.WaitAsync("the margin to pass on Redis's clock since b extended", async () =>
            await RedisNowAsync(set) > extendedAt + Margin.TotalMilliseconds, TimeSpan.FromSeconds(15));
        toA.Restore();
        await WaitForConnectionAsync(a);
        await set.WaitWhileTimePassesAsync("a to settle its outage", () => !Grace(a).OutagePending, TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(100));
        Assert.Single(a.LogsOf(8115));
        Assert.Equal("healthy", (await a.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = "i1" }).DefaultTimeout()).Instance.Status);
        Assert.Empty(set.Replicas.SelectMany(r => r.LogsOf(3002)));
    }

    [Fact]
    public async Task RedisBackOnlyForAMomentBetweenTwoOutages_TheLeasesAreExtendedAfterEach_AndNothingExpires()
    {
        await using var redis = await RedisServer.StartAsync("--appendonly", "yes", "--appendfsync", "always");
        var clock = new ManualTimeProvider();
        await using var set = await ReplicaSet.StartAsync(redis, 2, clock, args: QuickTimeout);
        var (a, b) = (set[0], set[1]);
        await a.RegisterAsync("i1", "img.a", 8081, ttl: 10);

        await RunOutageAsync(set, redis);
        await set.WaitWhileTimePassesAsync("the leases to be extended after the first outage", () => set.Replicas.Sum(r => r.LogsOf(8111).Count) == 1, TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(50));

        // Redis fails again at once (a restart loop): the replicas may not have heard of the extension, nor
        // the other replica have been back at all.
        await RunOutageAsync(set, redis);
        var resumedAt = clock.GetUtcNow();
        await set.WaitWhileTimePassesAsync("the leases to be extended after the second outage, and an expiry pass on each replica",
            () => set.Replicas.Sum(r => r.LogsOf(8111).Count) == 2 && !Grace(a).OutagePending && !Grace(b).OutagePending && set.Replicas.All(r => r.Expiry.Passes > 0),
            TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(50));

        var i1 = (await b.Registry.GetInstanceAsync(new GetInstanceRequest { InstanceId = "i1" }).DefaultTimeout()).Instance;
        Assert.Equal("healthy", i1.Status);
        Assert.True(i1.ExpiresAt.ToDateTimeOffset() >= resumedAt.AddSeconds(10), $"i1 expires at {i1.ExpiresAt}");
        Assert.Empty(set.Replicas.SelectMany(r => r.LogsOf(3002)));
    }

    /// <summary>Redis down for every replica, past i1's deadline (virtual) and the margin (Redis's clock), then back, and each replica connected to it again.</summary>
    private static async Task RunOutageAsync(ReplicaSet set, RedisServer redis)
    {
        // (The test's own connection may still be coming back from the last restart.)
        var lastContact = await Eventually.ResultAsync("Redis's replica contacts", () => LastContactAsync(set));
        await redis.StopAsync();
        try
        {
            await set.WaitWhileTimePassesAsync("every replica to notice the outage", () => set.Replicas.All(r => Grace(r).OutagePending), TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(500));
            set.Clock!.Advance(TimeSpan.FromSeconds(15));
            // Stopped, Redis cannot be asked the time; it runs on this host, so its clock is this one.
            await Eventually.WaitAsync("Redis to have heard from no replica for the margin", () => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() > lastContact + (long)Margin.TotalMilliseconds);
        }
        finally
        {
            await redis.StartAsync();
        }
        foreach (var replica in set.Replicas)
        {
            await WaitForConnectionAsync(replica);
        }
    }

    /// <summary>Waits, Redis up but cut off from every replica, until by its clock it last heard from one more than the margin ago.</summary>
    private static Task WaitForRedisToHearFromNoReplicaAsync(ReplicaSet set) =>
        Eventually.WaitAsync("Redis to have heard from no replica for the margin", async () =>
            await RedisNowAsync(set) > await LastContactAsync(set) + Margin.TotalMilliseconds);

    /// <summary>Redis's clock (ms since the epoch), which judges the replicas' contacts.</summary>
    private static async Task<double> RedisNowAsync(ReplicaSet set) => (await set.Server.TimeAsync()).Subtract(DateTime.UnixEpoch).TotalMilliseconds;

    /// <summary>When, by its clock (ms), Redis last heard from any replica (<c>replica_contact</c>).</summary>
    private static async Task<long> LastContactAsync(ReplicaSet set) =>
        (await set.Database.HashValuesAsync(set.Prefix + "replica_contact").DefaultTimeout()).Select(v => (long)v).DefaultIfEmpty(0).Max();

    /// <summary>Waits (real time, the replicas' clock standing still) until the replica's Redis connection is back.</summary>
    private static Task WaitForConnectionAsync(Replica replica) =>
        Eventually.WaitAsync($"{replica.Id}'s connection to Redis", () => replica.Services.GetRequiredService<RedisConnection>().Database.Multiplexer.IsConnected);

    private static LeaseGrace Grace(Replica replica) => replica.Services.GetRequiredService<LeaseGrace>();

    private static string Through(TcpRelay relay) => $"--ControlPlane:Store:Redis:Url=redis://127.0.0.1:{relay.Port}/0";
}
