using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>
/// A replica's lease table on a real redis-server: beats for known ids answered from memory, written at
/// the next checkpoint (the virtual clock drives the checkpoint timer), and the expiry lag that keeps
/// other replicas from expiring renewals not yet written.
/// </summary>
public sealed class RedisLeaseTableTests(RedisFixture redis) : IClassFixture<RedisFixture>, IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Retention = TimeSpan.FromSeconds(60);
    private readonly List<IDisposable> _owned = [];
    private readonly ManualTimeProvider _clock = new(T0);
    private string _prefix = "";

    private static InstanceSpec Spec(string id, int port, int ttl = 30) => new(id, "svc", "img", "10.0.0.1", port, "", Google.Protobuf.ByteString.Empty, ttl);

    /// <summary>A replica on this test's key space: its own connection, a lease table checkpointed every second, the default lag (2 s).</summary>
    private RedisRegistryStore Replica(TimeSpan? interval = null, RedisConnection? connection = null)
    {
        if (connection is null)
        {
            connection = redis.Connect(_prefix);
            _owned.Add(connection);
        }
        var store = new RedisRegistryStore(connection, new RedisStoreOptions { RenewalCheckpointInterval = interval ?? Interval }, _clock, NullLogger.Instance);
        _owned.Add(store);
        return store;
    }

    private (RedisRegistryStore A, RedisRegistryStore B) TwoReplicas()
    {
        _prefix = redis.NewPrefix();
        return (Replica(), Replica());
    }

    /// <summary>The deadline Redis holds for <paramref name="id"/> (read from outside the store), or null.</summary>
    private async Task<DateTimeOffset?> DeadlineInRedisAsync(string id)
    {
        var score = await redis.AdminDatabase.SortedSetScoreAsync((RedisKey)(_prefix + "inst_expiry"), id).DefaultTimeout();
        return score is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds((long)ms) : null;
    }

    private static async Task<RenewOutcome> BeatAsync(RedisRegistryStore store, string id, DateTimeOffset at) =>
        (await store.RenewAsync([id], 0, at).DefaultTimeout()).Single();

    /// <summary>Moves the clock one interval: the checkpoint timer fires; waits for that checkpoint.</summary>
    private async Task NextCheckpointAsync(params RedisRegistryStore[] stores)
    {
        _clock.Advance(Interval);
        foreach (var store in stores)
        {
            await store.Leases!.LastCheckpoint.DefaultTimeout();
        }
    }

    [Fact]
    public async Task AKnownId_IsAnsweredWithoutARedisWrite_AndReachesRedisAtTheNextCheckpoint()
    {
        redis.Require();
        var (a, _) = TwoReplicas();
        await a.RegisterAsync(Spec("i1", 8080), T0).DefaultTimeout();
        // Unknown to the table: answered once Redis holds it, and seeds the table.
        Assert.Equal(T0.AddSeconds(31), (await BeatAsync(a, "i1", T0.AddSeconds(1))).ExpiresAt);
        Assert.Equal(T0.AddSeconds(31), await DeadlineInRedisAsync("i1"));

        var second = await BeatAsync(a, "i1", T0.AddSeconds(2));
        var third = await BeatAsync(a, "i1", T0.AddSeconds(3));

        Assert.Equal(new RenewOutcome(RenewResult.Renewed, InstanceStatus.Healthy, 30, T0.AddSeconds(32)), second);
        Assert.Equal(T0.AddSeconds(33), third.ExpiresAt);
        Assert.Equal(T0.AddSeconds(31), await DeadlineInRedisAsync("i1"));
        // This replica's reads show its own renewals already.
        Assert.Equal((T0.AddSeconds(3), T0.AddSeconds(33)), ((await a.GetAsync("i1").DefaultTimeout())!.LastHeartbeatAt, (await a.GetAsync("i1").DefaultTimeout())!.ExpiresAt));

        await NextCheckpointAsync(a);

        Assert.Equal(T0.AddSeconds(33), await DeadlineInRedisAsync("i1"));
    }

    [Fact]
    public async Task AUnaryHeartbeatsTtl_AnsweredFromMemory_ShowsInReadsHere_AndIsWrittenAtTheCheckpoint()
    {
        redis.Require();
        var (a, b) = TwoReplicas();
        await a.RegisterAsync(Spec("i1", 8080), T0).DefaultTimeout();
        await BeatAsync(a, "i1", T0.AddSeconds(1));

        var changed = (await a.RenewAsync(["i1"], 5, T0.AddSeconds(2)).DefaultTimeout()).Single();

        Assert.Equal(new RenewOutcome(RenewResult.Renewed, InstanceStatus.Healthy, 5, T0.AddSeconds(7)), changed);
        var here = (await a.GetAsync("i1").DefaultTimeout())!;
        Assert.Equal((5, T0.AddSeconds(2), T0.AddSeconds(7)), (here.Spec.TtlSeconds, here.LastHeartbeatAt, here.ExpiresAt));
        Assert.Equal(30, (await b.GetAsync("i1").DefaultTimeout())!.Spec.TtlSeconds);

        await NextCheckpointAsync(a);

        Assert.Equal(T0.AddSeconds(7), await DeadlineInRedisAsync("i1"));
        var there = (await b.GetAsync("i1").DefaultTimeout())!;
        Assert.Equal((5, T0.AddSeconds(7)), (there.Spec.TtlSeconds, there.ExpiresAt));
        Assert.Equal(T0.AddSeconds(8), (await BeatAsync(a, "i1", T0.AddSeconds(3))).ExpiresAt);
    }

    [Fact]
    public async Task ADeregistrationElsewhere_TurnsTheNextButOneAnswerIntoNotFound_WithinOneInterval()
    {
        redis.Require();
        var (a, b) = TwoReplicas();
        await b.RegisterAsync(Spec("i1", 8080), T0).DefaultTimeout();
        await BeatAsync(a, "i1", T0.AddSeconds(1));
        Assert.NotNull(await b.DeregisterAsync("i1").DefaultTimeout());

        // Answered from the table before the checkpoint learns of it.
        Assert.Equal(RenewResult.Renewed, (await BeatAsync(a, "i1", T0.AddSeconds(2))).Result);
        await NextCheckpointAsync(a);

        Assert.Equal(RenewResult.NotFound, (await BeatAsync(a, "i1", T0.AddSeconds(3))).Result);
        Assert.Null(await DeadlineInRedisAsync("i1"));
        Assert.Equal(0, a.Leases!.Count);
    }

    [Fact]
    public async Task DrainingSetElsewhere_ReachesTheAnswers_WithinOneInterval()
    {
        redis.Require();
        var (a, b) = TwoReplicas();
        await b.RegisterAsync(Spec("i1", 8080), T0).DefaultTimeout();
        await BeatAsync(a, "i1", T0.AddSeconds(1));
        await b.SetDrainingAsync("i1", true).DefaultTimeout();

        Assert.Equal(InstanceStatus.Healthy, (await BeatAsync(a, "i1", T0.AddSeconds(2))).Status);
        await NextCheckpointAsync(a);

        Assert.Equal(new RenewOutcome(RenewResult.Renewed, InstanceStatus.Draining, 30, T0.AddSeconds(33)), await BeatAsync(a, "i1", T0.AddSeconds(3)));
        Assert.Equal(T0.AddSeconds(32), await DeadlineInRedisAsync("i1"));
    }

    [Fact]
    public async Task ChangesMadeElsewhere_ReachTheAnswers_AsSoonAsTheChangeFollowerReadsThem()
    {
        redis.Require();
        var (a, b) = TwoReplicas();
        // What a's change follower reads when a change names instances (the discovery cache's loader).
        var follower = new MirroredRegistryReads(a, new StoreMirror());
        await b.RegisterAsync(Spec("gone", 8080), T0).DefaultTimeout();
        await b.RegisterAsync(Spec("drained", 8081), T0).DefaultTimeout();
        await b.RegisterAsync(Spec("moved", 8082), T0).DefaultTimeout();
        foreach (var id in new[] { "gone", "drained", "moved" })
        {
            await BeatAsync(a, id, T0.AddSeconds(1));
        }

        Assert.NotNull(await b.DeregisterAsync("gone").DefaultTimeout());
        await b.SetDrainingAsync("drained", true).DefaultTimeout();
        await b.RegisterAsync(Spec("moved", 8083, ttl: 10), T0.AddSeconds(1)).DefaultTimeout();
        await follower.GetManyAsync(["gone", "drained", "moved"]).DefaultTimeout();

        // No checkpoint in between: the answers are what Redis holds.
        Assert.Equal(RenewResult.NotFound, (await BeatAsync(a, "gone", T0.AddSeconds(2))).Result);
        Assert.Equal(new RenewOutcome(RenewResult.Renewed, InstanceStatus.Draining, 30, T0.AddSeconds(32)), await BeatAsync(a, "drained", T0.AddSeconds(2)));
        Assert.Equal(new RenewOutcome(RenewResult.Renewed, InstanceStatus.Healthy, 10, T0.AddSeconds(12)), await BeatAsync(a, "moved", T0.AddSeconds(2)));
    }

    [Fact]
    public async Task AStoreThatCameBackEmpty_IsNotAnsweredFromMemory_OnceReloaded()
    {
        redis.Require();
        var (a, b) = TwoReplicas();
        // What a's change follower reads after the store started afresh: the whole registry.
        var follower = new MirroredRegistryReads(a, new StoreMirror());
        await b.RegisterAsync(Spec("kept", 8080), T0).DefaultTimeout();
        await b.RegisterAsync(Spec("lost", 8081), T0).DefaultTimeout();
        Assert.Equal(RenewResult.Renewed, (await BeatAsync(a, "kept", T0.AddSeconds(1))).Result);
        Assert.Equal(RenewResult.Renewed, (await BeatAsync(a, "lost", T0.AddSeconds(1))).Result);

        // The store no longer has "lost" (as a Redis restarted without its data has nothing), and a's
        // follower, which found the store started afresh, reloads everything: no change entry names "lost".
        Assert.NotNull(await b.DeregisterAsync("lost").DefaultTimeout());
        var listed = await follower.ListAsync(new InstanceQuery()).DefaultTimeout();

        Assert.Equal(["kept"], listed.Select(r => r.InstanceId));
        // No checkpoint in between: "lost" is asked of Redis (not found), "kept" still answered from memory.
        Assert.Equal(RenewResult.NotFound, (await BeatAsync(a, "lost", T0.AddSeconds(2))).Result);
        Assert.Equal(RenewResult.Renewed, (await BeatAsync(a, "kept", T0.AddSeconds(2))).Result);
        Assert.Equal(1, a.Leases!.Count);
    }

    [Fact]
    public async Task AnInstanceBeatenOnlyInMemory_IsNotExpiredByAnotherReplicasScan_BeforeTheLag()
    {
        redis.Require();
        var (a, b) = TwoReplicas();
        await b.RegisterAsync(Spec("i1", 8080, ttl: 3), T0).DefaultTimeout();
        await BeatAsync(a, "i1", T0.AddSeconds(1));                      // Redis: T0+4
        await BeatAsync(a, "i1", T0.AddSeconds(3.5));                    // memory only: T0+6.5
        Assert.Equal(T0.AddSeconds(4), await DeadlineInRedisAsync("i1"));

        // Past the deadline Redis holds, within the lag (1 s interval + 1 s margin): not overdue.
        var scan = await b.ScanExpiryAsync(T0.AddSeconds(5.5), Retention, 10).DefaultTimeout();
        Assert.Empty(scan.Overdue);
        Assert.Equal(T0.AddSeconds(6), scan.NextDeadline);
        Assert.Empty(await b.ExpireAsync(["i1"], T0.AddSeconds(5.5)).DefaultTimeout());

        await NextCheckpointAsync(a);

        Assert.Equal(T0.AddSeconds(6.5), await DeadlineInRedisAsync("i1"));
        Assert.Empty((await b.ScanExpiryAsync(T0.AddSeconds(8), Retention, 10).DefaultTimeout()).Overdue);
        // Once the lag has passed the written deadline too, it expires.
        Assert.Equal(["i1"], (await b.ScanExpiryAsync(T0.AddSeconds(8.5), Retention, 10).DefaultTimeout()).Overdue);
        Assert.Equal("i1", Assert.Single(await b.ExpireAsync(["i1"], T0.AddSeconds(8.5)).DefaultTimeout()).InstanceId);
    }

    [Fact]
    public async Task AReplicaStoppedGracefully_CheckpointsEverything_ThenWritesEachBeat()
    {
        redis.Require();
        var (a, _) = TwoReplicas();
        var ids = new[] { "i1", "i2", "i3" };
        for (var i = 0; i < ids.Length; i++)
        {
            await a.RegisterAsync(Spec(ids[i], 8080 + i), T0).DefaultTimeout();
        }
        await a.RenewAsync(ids, 0, T0.AddSeconds(1)).DefaultTimeout();
        await a.RenewAsync(ids, 0, T0.AddSeconds(5)).DefaultTimeout();
        Assert.Equal(T0.AddSeconds(31), await DeadlineInRedisAsync("i2"));

        await a.StopRenewalsAsync(CancellationToken.None).DefaultTimeout();

        foreach (var id in ids)
        {
            Assert.Equal(T0.AddSeconds(35), await DeadlineInRedisAsync(id));
        }
        await BeatAsync(a, "i1", T0.AddSeconds(6));
        Assert.Equal(T0.AddSeconds(36), await DeadlineInRedisAsync("i1"));
    }

    [Fact]
    public async Task WhileRedisIsPaused_BeatsAreAnsweredUnavailable_AndNothingRefusedIsAppliedLater_NorAnythingAnsweredLost()
    {
        await using var server = await RedisServer.StartAsync();
        using var connection = RedisConnection.Connect(
            new RedisStoreOptions { Url = server.Url, CommandTimeout = TimeSpan.FromMilliseconds(300) }, NullLogger.Instance, _ => null);
        _prefix = "";
        var store = Replica(connection: connection);
        using var admin = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").DefaultTimeout();
        await store.RegisterAsync(Spec("i1", 8080), T0).DefaultTimeout();
        await BeatAsync(store, "i1", T0.AddSeconds(1));
        await BeatAsync(store, "i1", T0.AddSeconds(1.5));               // answered from memory: pending

        server.Pause();
        try
        {
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.PingAsync().AsTask()).DefaultTimeout(); // the outage is known now
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.RenewAsync(["i1"], 0, T0.AddSeconds(2)).AsTask()).DefaultTimeout();
            // The checkpoint fails too; what it held stays pending.
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.FlushRenewalsAsync()).DefaultTimeout();
        }
        finally
        {
            server.Resume();
        }
        await StoreAnswers.AgainAsync(store);

        await store.FlushRenewalsAsync().DefaultTimeout();

        // The beat answered before the outage is written; the one refused is not.
        var score = await admin.GetDatabase().SortedSetScoreAsync("inst_expiry", "i1").DefaultTimeout();
        Assert.Equal(T0.AddSeconds(31.5).ToUnixTimeMilliseconds(), (long)score!.Value);
    }

    [Fact]
    public async Task WhileACheckpointWaitsOnAHungRedis_BeatsAreNoLongerAnsweredFromMemory()
    {
        await using var server = await RedisServer.StartAsync();
        // A command timeout far beyond the test: the replica does not know Redis is gone, as in a partition's first seconds.
        using var connection = RedisConnection.Connect(
            new RedisStoreOptions { Url = server.Url, CommandTimeout = TimeSpan.FromSeconds(60) }, NullLogger.Instance, _ => null);
        _prefix = "";
        var store = Replica(connection: connection);
        await store.RegisterAsync(Spec("i1", 8080), T0).DefaultTimeout();
        await BeatAsync(store, "i1", T0.AddSeconds(0.5));                // seeds the table
        Assert.True(store.RenewAsync(["i1"], 0, T0.AddSeconds(0.6)).IsCompleted); // answered from memory, at once

        server.Pause();
        ValueTask<RenewOutcome[]> held;
        try
        {
            _clock.Advance(Interval);                                    // the checkpoint starts and waits on Redis
            Assert.True(store.RenewAsync(["i1"], 0, T0.AddSeconds(1.1)).IsCompleted); // a moment in: still from memory
            _clock.Advance(TimeSpan.FromMilliseconds(300));              // past a quarter of the interval
            held = store.RenewAsync(["i1"], 0, T0.AddSeconds(1.3));
            Assert.False(held.IsCompleted);                              // not promised before Redis holds it
        }
        finally
        {
            server.Resume();
        }
        Assert.Equal(RenewResult.Renewed, (await held.AsTask().DefaultTimeout()).Single().Result);
        using var admin = await ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port}").DefaultTimeout();
        var score = await admin.GetDatabase().SortedSetScoreAsync("inst_expiry", "i1").DefaultTimeout();
        Assert.Equal(T0.AddSeconds(31.3).ToUnixTimeMilliseconds(), (long)score!.Value); // held, then written: Redis has it
    }

    [Fact]
    public async Task AReplicaWithAShorterLag_WaitsForTheLongestOneAnotherLiveReplicaAdvertises_UntilItStopsOrLapses()
    {
        redis.Require();
        _prefix = redis.NewPrefix();
        // a checkpoints every 5 s (lag 6 s); b, configured on its own, would expire 0 s after a deadline.
        var slowClock = new ManualTimeProvider(T0);
        var connection = redis.Connect(_prefix);
        _owned.Add(connection);
        var a = new RedisRegistryStore(connection, new RedisStoreOptions { RenewalCheckpointInterval = TimeSpan.FromSeconds(5) }, slowClock, NullLogger.Instance);
        _owned.Add(a);
        var b = new RedisRegistryStore(redis.Connect(_prefix), new RedisStoreOptions { RenewalCheckpointInterval = TimeSpan.Zero }, _clock, NullLogger.Instance);
        _owned.Add(b);
        await a.RegisterAsync(Spec("i1", 8080, ttl: 3), T0).DefaultTimeout();
        await a.RegisterAsync(Spec("i2", 8081, ttl: 3), T0).DefaultTimeout();
        await BeatAsync(a, "i1", T0.AddSeconds(1));                 // exact: advertises a's lag, seeds the table
        Assert.Equal(T0.AddSeconds(7), (await BeatAsync(a, "i1", T0.AddSeconds(4))).ExpiresAt); // from memory only
        Assert.Equal(T0.AddSeconds(4), await DeadlineInRedisAsync("i1"));

        // Past i1's deadline in Redis by 2 s, and i2's by 3 s: b waits for a's 6 s, so neither is overdue yet.
        var scan = await b.ScanExpiryAsync(T0.AddSeconds(6), Retention, 10).DefaultTimeout();
        Assert.Empty(scan.Overdue);
        Assert.Equal(T0.AddSeconds(9), scan.NextDeadline); // i2's deadline (T0+3 s) plus a's lag
        Assert.Empty(await b.ExpireAsync(["i1", "i2"], T0.AddSeconds(6)).DefaultTimeout());

        // a stops gracefully: its renewal reaches Redis and its advertisement goes; b's own lag applies again.
        await a.StopRenewalsAsync(CancellationToken.None).DefaultTimeout();
        Assert.Equal(T0.AddSeconds(7), await DeadlineInRedisAsync("i1"));
        Assert.Equal(["i2"], (await b.ScanExpiryAsync(T0.AddSeconds(6), Retention, 10).DefaultTimeout()).Overdue);

        // A replica that stops renewing its advertisement (killed, paused) is waited for only until it lapses:
        // a new one on a's clock advertises 6 s until T0 + 6 + 10 s.
        var c = new RedisRegistryStore(connection, new RedisStoreOptions { RenewalCheckpointInterval = TimeSpan.FromSeconds(5) }, slowClock, NullLogger.Instance);
        _owned.Add(c);
        await BeatAsync(c, "i1", T0.AddSeconds(1));
        Assert.DoesNotContain("i1", (await b.ScanExpiryAsync(T0.AddSeconds(7.5), Retention, 10).DefaultTimeout()).Overdue);
        Assert.Contains("i1", (await b.ScanExpiryAsync(T0.AddSeconds(17.5), Retention, 10).DefaultTimeout()).Overdue);
    }

    [Fact]
    public async Task WithACheckpointIntervalOf0_EveryBeatIsAnsweredOnceRedisHoldsIt_AndExpiresWithoutLag()
    {
        redis.Require();
        _prefix = redis.NewPrefix();
        var store = Replica(interval: TimeSpan.Zero);
        Assert.Null(store.Leases);
        await store.RegisterAsync(Spec("i1", 8080, ttl: 3), T0).DefaultTimeout();

        await BeatAsync(store, "i1", T0.AddSeconds(1));
        await BeatAsync(store, "i1", T0.AddSeconds(2));

        Assert.Equal(T0.AddSeconds(5), await DeadlineInRedisAsync("i1"));
        var scan = await store.ScanExpiryAsync(T0.AddSeconds(5), Retention, 10).DefaultTimeout();
        Assert.Equal(["i1"], scan.Overdue);
    }

    public void Dispose()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            owned.Dispose();
        }
    }
}
