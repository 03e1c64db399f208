using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;
using Microsoft.Extensions.Logging.Abstractions;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>
/// Registrations and renewals that share a group-committed write: each is answered with its own
/// outcome, the deadlines Redis holds are the beats', and a write that fails fails them all.
/// </summary>
public sealed class RedisGroupCommitTests(RedisFixture redis) : IClassFixture<RedisFixture>, IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly List<RedisConnection> _connections = [];

    private RedisRegistryStore Store(string prefix)
    {
        var connection = redis.Connect(prefix);
        _connections.Add(connection);
        return new RedisRegistryStore(connection);
    }

    private static InstanceSpec Spec(string id, int port, string name = "svc", int ttl = 30) =>
        new(id, name, "img." + name, "10.0.0.1", port, "", Google.Protobuf.ByteString.Empty, ttl);

    [Fact]
    public async Task ManyBeatsOfOverlappingIds_AreEachAnswered_AndRedisHoldsTheLastBeatsDeadlines()
    {
        redis.Require();
        var prefix = redis.NewPrefix();
        var store = Store(prefix);
        const int Instances = 300, Beats = 60;
        await Task.WhenAll(Enumerable.Range(0, Instances).Select(i => store.RegisterAsync(Spec($"i{i}", 9000 + i, ttl: 10 + (i % 5)), T0).AsTask())).DefaultTimeout();

        // Beat b renews a window of 100 ids starting at 5b, at T0 + b ms; all are started before any is
        // awaited, in order, so they share writes and a later beat's renewal of an id is never applied
        // before an earlier one's.
        string Id(int n) => $"i{n % Instances}";
        var beats = Enumerable.Range(0, Beats).Select(b =>
        {
            var ids = Enumerable.Range(5 * b, 100).Select(Id).ToArray();
            return (Ids: ids, Time: T0.AddMilliseconds(b), Answer: store.RenewAsync(ids, 0, T0.AddMilliseconds(b)).AsTask());
        }).ToArray();
        await Task.WhenAll(beats.Select(b => b.Answer)).DefaultTimeout();

        var lastBeat = new Dictionary<string, DateTimeOffset>();
        foreach (var (ids, time, answer) in beats)
        {
            var outcomes = await answer;
            Assert.Equal(ids.Length, outcomes.Length);
            for (var i = 0; i < ids.Length; i++)
            {
                var ttl = 10 + (int.Parse(ids[i][1..], System.Globalization.CultureInfo.InvariantCulture) % 5);
                Assert.Equal((RenewResult.Renewed, InstanceStatus.Healthy, ttl), (outcomes[i].Result, outcomes[i].Status, outcomes[i].TtlSeconds));
                // Its own beat's deadline, or a later beat's of the same id written with it.
                Assert.InRange(outcomes[i].ExpiresAt, time.AddSeconds(ttl), T0.AddMilliseconds(Beats).AddSeconds(ttl));
                lastBeat[ids[i]] = time;
            }
        }
        var db = redis.AdminDatabase;
        foreach (var (id, time) in lastBeat)
        {
            var record = (await store.GetAsync(id).DefaultTimeout())!;
            var ttl = record.Spec.TtlSeconds;
            Assert.Equal(time.AddSeconds(ttl).ToUnixTimeMilliseconds(), await db.SortedSetScoreAsync(prefix + "inst_expiry", id).DefaultTimeout());
            Assert.Equal((time, time.AddSeconds(ttl)), (record.LastHeartbeatAt, record.ExpiresAt));
        }
    }

    [Fact]
    public async Task InOneWrite_UnknownExpiredAndDrainingIds_AreEachAnsweredAsTheirOwn()
    {
        redis.Require();
        var store = Store(redis.NewPrefix());
        await store.RegisterAsync(Spec("live", 8080), T0).DefaultTimeout();
        await store.RegisterAsync(Spec("drained", 8081), T0).DefaultTimeout();
        await store.RegisterAsync(Spec("gone", 8082, ttl: 1), T0).DefaultTimeout();
        await store.SetDrainingAsync("drained", true).DefaultTimeout();
        Assert.Single(await store.ExpireAsync(["gone"], T0.AddSeconds(1)).DefaultTimeout());

        var now = T0.AddSeconds(5);
        var first = store.RenewAsync(["live", "unknown", "gone", "drained"], 0, now).AsTask();
        var second = store.RenewAsync(["drained", "live", "live"], 0, now).AsTask();
        var unary = store.RenewAsync(["live"], 60, now).AsTask();
        await Task.WhenAll(first, second, unary).DefaultTimeout();

        var a = await first;
        Assert.Equal(
            [RenewResult.Renewed, RenewResult.NotFound, RenewResult.NotFound, RenewResult.Renewed],
            a.Select(o => o.Result));
        Assert.Equal((InstanceStatus.Draining, 30, now.AddSeconds(30)), (a[3].Status, a[3].TtlSeconds, a[3].ExpiresAt));
        var b = await second;
        Assert.Equal([InstanceStatus.Draining, InstanceStatus.Healthy, InstanceStatus.Healthy], b.Select(o => o.Status));
        // The unary heartbeat's TTL holds from then on, whichever write carried it.
        var u = (await unary)[0];
        Assert.Equal((RenewResult.Renewed, 60, now.AddSeconds(60)), (u.Result, u.TtlSeconds, u.ExpiresAt));
        var live = (await store.GetAsync("live").DefaultTimeout())!;
        Assert.Equal((60, now.AddSeconds(60), now), (live.Spec.TtlSeconds, live.ExpiresAt, live.LastHeartbeatAt));
        Assert.Equal(InstanceStatus.Expired, (await store.GetAsync("gone").DefaultTimeout())!.Status);
    }

    [Fact]
    public async Task ARenewedInstance_ExpiresAtItsNewDeadline_NotTheOneItRegisteredWith_AndOnce()
    {
        redis.Require();
        var prefix = redis.NewPrefix();
        var (a, b) = (Store(prefix), Store(prefix));
        await a.RegisterAsync(Spec("i1", 8080), T0).DefaultTimeout();
        await a.RenewAsync(["i1"], 0, T0.AddSeconds(10)).DefaultTimeout();

        var before = T0.AddSeconds(35);
        Assert.Empty((await a.ScanExpiryAsync(before, TimeSpan.FromMinutes(1), 10).DefaultTimeout()).Overdue);
        Assert.Empty(await a.ExpireAsync(["i1"], before).DefaultTimeout());

        var due = T0.AddSeconds(40);
        Assert.Equal(["i1"], (await a.ScanExpiryAsync(due, TimeSpan.FromMinutes(1), 10).DefaultTimeout()).Overdue);
        var expired = await Task.WhenAll(a.ExpireAsync(["i1"], due).AsTask(), b.ExpireAsync(["i1"], due).AsTask()).DefaultTimeout();
        var record = Assert.Single(expired.SelectMany(e => e));
        Assert.Equal((InstanceStatus.Expired, T0.AddSeconds(10), T0.AddSeconds(40)), (record.Status, record.LastHeartbeatAt, record.ExpiresAt));
        Assert.Equal(record, await a.GetAsync("i1").DefaultTimeout());
        Assert.Equal(RenewResult.NotFound, (await a.RenewAsync(["i1"], 0, due).DefaultTimeout())[0].Result);
    }

    [Fact]
    public async Task ConcurrentRegistrations_KeepEveryGuard_AndEachChangedImageGetsARevision()
    {
        redis.Require();
        var prefix = redis.NewPrefix();
        var store = Store(prefix);
        var db = redis.AdminDatabase;
        await store.RegisterAsync(Spec("owner", 7000, name: "orders"), T0).DefaultTimeout();
        var revision = (long)await db.StringGetAsync(prefix + "change_rev").DefaultTimeout();

        // 100 registrations started together (they share writes): pairs that want one port, and an id
        // taken by another service. In each pair, the one started first wins.
        var calls = new List<(InstanceSpec Spec, Task<RegisterOutcome> Answer)>();
        for (var i = 0; i < 50; i++)
        {
            foreach (var spec in new[] { Spec($"a{i}", 8000 + i, name: $"s{i % 4}"), Spec($"b{i}", 8000 + i, name: $"s{i % 4}") })
            {
                calls.Add((spec, store.RegisterAsync(spec, T0).AsTask()));
            }
        }
        var duplicate = store.RegisterAsync(Spec("owner", 7001, name: "billing"), T0).AsTask();
        await Task.WhenAll(calls.Select(c => c.Answer).Append(duplicate)).DefaultTimeout();

        for (var i = 0; i < calls.Count; i += 2)
        {
            var (winner, loser) = (await calls[i].Answer, await calls[i + 1].Answer);
            Assert.Equal(RegisterResult.Created, winner.Result);
            Assert.Equal(calls[i].Spec with { MetadataBytes = winner.Instance!.Spec.MetadataBytes }, winner.Instance.Spec);
            Assert.Equal((InstanceStatus.Healthy, T0, T0, T0.AddSeconds(30)), (winner.Instance.Status, winner.Instance.RegisteredAt, winner.Instance.LastHeartbeatAt, winner.Instance.ExpiresAt));
            Assert.Equal(winner.Instance, await store.GetAsync(calls[i].Spec.InstanceId).DefaultTimeout());
            Assert.Equal((RegisterResult.PortConflict, calls[i].Spec.InstanceId), (loser.Result, loser.Holder!.InstanceId));
            Assert.Null(await store.GetAsync(calls[i + 1].Spec.InstanceId).DefaultTimeout());
        }
        var refused = await duplicate;
        Assert.Equal((RegisterResult.DuplicateInstanceId, "orders"), (refused.Result, refused.Holder!.Spec.Name));

        // Every write recorded a revision per image it changed: at least one per image, never one per registration.
        var log = (await db.SortedSetRangeByScoreAsync(prefix + "change_log", revision + 1).DefaultTimeout()).Select(v => (string)v!).ToArray();
        var current = (long)await db.StringGetAsync(prefix + "change_rev").DefaultTimeout();
        Assert.Equal(current - revision, log.Length);
        Assert.Equal(["img.s0", "img.s1", "img.s2", "img.s3"], log.Select(e => e.Split(' ')[2]).Distinct().Order(StringComparer.Ordinal));
        Assert.InRange(log.Length, 4, 50);
    }

    [Fact]
    public async Task RegistrationsSharingWrites_WithEveryOutcome_AreEachAnsweredWithTheRecordRedisHolds()
    {
        redis.Require();
        var store = Store(redis.NewPrefix());
        await store.RegisterAsync(Spec("drained", 8081), T0).DefaultTimeout();
        await store.RegisterAsync(Spec("gone", 8082, ttl: 1), T0).DefaultTimeout();
        await store.RegisterAsync(Spec("owner", 8083, name: "orders"), T0).DefaultTimeout();
        await store.SetDrainingAsync("drained", true).DefaultTimeout();
        Assert.Single(await store.ExpireAsync(["gone"], T0.AddSeconds(1)).DefaultTimeout());

        // Started together, twice over, so writes carry outcomes of every kind side by side.
        var now = T0.AddSeconds(5);
        var calls = new List<(InstanceSpec Spec, Task<RegisterOutcome> Answer)>();
        for (var round = 0; round < 2; round++)
        {
            InstanceSpec[] specs =
            [
                Spec($"new{round}", 9000 + round), Spec("drained", 9010 + round, ttl: 60), Spec($"taker{round}", 8083),
                Spec("gone", 9020 + round, ttl: 20), Spec("owner", 9030 + round, name: "billing"), Spec($"late{round}", 9010 + round),
            ];
            calls.AddRange(specs.Select(spec => (spec, store.RegisterAsync(spec, now.AddMilliseconds(round)).AsTask())));
        }
        await Task.WhenAll(calls.Select(c => c.Answer)).DefaultTimeout();

        var owner = await store.GetAsync("owner").DefaultTimeout();
        var expected = new[]
        {
            RegisterResult.Created, RegisterResult.Updated, RegisterResult.PortConflict, RegisterResult.Updated, RegisterResult.DuplicateInstanceId, RegisterResult.PortConflict,
        };
        for (var i = 0; i < calls.Count; i++)
        {
            var (spec, answer) = (calls[i].Spec, await calls[i].Answer);
            Assert.Equal(expected[i % expected.Length], answer.Result);
            if (answer.Result is RegisterResult.PortConflict or RegisterResult.DuplicateInstanceId)
            {
                Assert.Null(answer.Instance);
                // late<n> wants the port "drained" took just before it: the holder is "drained" as registered then.
                var holder = spec.InstanceId.StartsWith("late", StringComparison.Ordinal) ? (await calls[i - 4].Answer).Instance : owner;
                Assert.Equal(holder, answer.Holder);
                continue;
            }
            var record = answer.Instance!;
            Assert.Equal(spec, record.Spec);
            var at = now.AddMilliseconds(i / expected.Length);
            Assert.Equal((at, at.AddSeconds(spec.TtlSeconds), (DateTimeOffset?)null), (record.LastHeartbeatAt, record.ExpiresAt, record.ExpiredAt));
            Assert.Equal(spec.InstanceId.StartsWith("new", StringComparison.Ordinal) ? at : T0, record.RegisteredAt);
            // Draining stays draining (an operator's decision); an expired instance comes back healthy.
            Assert.Equal(spec.InstanceId == "drained" ? InstanceStatus.Draining : InstanceStatus.Healthy, record.Status);
            if (i >= expected.Length)
            {
                // The later registration of an id is the last written: what Redis holds now.
                Assert.Equal(record, await store.GetAsync(spec.InstanceId).DefaultTimeout());
            }
        }
    }

    [Fact]
    public async Task WhileRedisHangs_EveryBeatWaitingOnAFailedWrite_IsUnavailable_AndNoneIsAppliedLater()
    {
        await using var server = await RedisServer.StartAsync();
        using var connection = RedisConnection.Connect(new RedisStoreOptions { Url = server.Url, CommandTimeout = TimeSpan.FromMilliseconds(300) }, NullLogger.Instance, _ => null);
        var store = new RedisRegistryStore(connection);
        await store.RegisterAsync(Spec("i1", 8080), T0).DefaultTimeout();

        server.Pause();
        try
        {
            await Assert.ThrowsAsync<StoreUnavailableException>(() => store.PingAsync().AsTask()).DefaultTimeout(); // the outage is known now
            var beats = Enumerable.Range(1, 20).Select(i => store.RenewAsync(["i1", "unknown"], 0, T0.AddSeconds(i)).AsTask()).ToArray();
            var registrations = Enumerable.Range(1, 5).Select(i => store.RegisterAsync(Spec($"n{i}", 9000 + i), T0).AsTask()).ToArray();
            foreach (var call in beats.Cast<Task>().Concat(registrations))
            {
                await Assert.ThrowsAsync<StoreUnavailableException>(() => call).DefaultTimeout();
            }
        }
        finally
        {
            server.Resume();
        }
        await StoreAnswers.AgainAsync(store);

        // Whatever was sent before the ping's answer has run by now: none of the refused writes.
        Assert.Equal(T0.AddSeconds(30), (await store.GetAsync("i1").DefaultTimeout())!.ExpiresAt);
        Assert.Null(await store.GetAsync("n1").DefaultTimeout());
        var beat = (await store.RenewAsync(["i1"], 0, T0.AddSeconds(25)).DefaultTimeout())[0];
        Assert.Equal(T0.AddSeconds(55), beat.ExpiresAt);
    }

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }
}
