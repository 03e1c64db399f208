using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>
/// Two control planes (two stores on two connections, one Redis) racing: the guards hold because each
/// change is one script, not a read then a write from C#.
/// </summary>
public sealed class RedisRaceTests(RedisFixture redis) : IClassFixture<RedisFixture>, IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly List<RedisConnection> _connections = [];

    /// <summary>Two stores on one key space, each with its own connection.</summary>
    private (RedisRegistryStore A, RedisRegistryStore B) TwoReplicas()
    {
        var prefix = redis.NewPrefix();
        var a = redis.Connect(prefix);
        var b = redis.Connect(prefix);
        _connections.Add(a);
        _connections.Add(b);
        return (new RedisRegistryStore(a), new RedisRegistryStore(b));
    }

    private static InstanceSpec Spec(string id, string host, int port, string name = "video-svc", int ttl = 30) =>
        new(id, name, "img.video.svc", host, port, "", Google.Protobuf.ByteString.Empty, ttl);

    [Fact]
    public async Task RegistrationsRacingForOneHostPort_ExactlyOneWins_TheOthersNameIt()
    {
        redis.Require();
        var (a, b) = TwoReplicas();
        const int rounds = 25, racers = 8;
        for (var round = 0; round < rounds; round++)
        {
            var host = $"10.1.0.{round}";
            var outcomes = await Task.WhenAll(Enumerable.Range(0, racers)
                .Select(i => (i % 2 == 0 ? a : b).RegisterAsync(Spec($"r{round}-{i}", host, 8080), T0).AsTask())).DefaultTimeout();

            var winner = Assert.Single(outcomes, o => o.Result == RegisterResult.Created);
            Assert.All(outcomes.Where(o => o != winner), o =>
            {
                Assert.Equal(RegisterResult.PortConflict, o.Result);
                Assert.Equal(winner.Instance!.InstanceId, o.Holder!.InstanceId);
            });
        }
        Assert.Equal(new RegistryCounts(rounds, 0, 0), await b.CountAsync().DefaultTimeout());
    }

    [Fact]
    public async Task RegistrationsRacingForOneId_UnderDifferentNames_ExactlyOneWins()
    {
        redis.Require();
        var (a, b) = TwoReplicas();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 10)
            .Select(i => (i % 2 == 0 ? a : b).RegisterAsync(Spec("same-id", "10.2.0.1", 9000 + i, name: $"svc-{i}"), T0).AsTask())).DefaultTimeout();

        var winner = Assert.Single(outcomes, o => o.Result == RegisterResult.Created);
        Assert.All(outcomes.Where(o => o != winner), o =>
        {
            Assert.Equal(RegisterResult.DuplicateInstanceId, o.Result);
            Assert.Equal(winner.Instance!.Spec.Name, o.Holder!.Spec.Name);
        });
        // The losers' ports stayed free.
        Assert.Single(await a.ListAsync(new InstanceQuery()).DefaultTimeout());
    }

    [Fact]
    public async Task HeartbeatsRacingWithExpiry_EachInstanceIsEitherRenewedOrExpired_NeverBoth()
    {
        redis.Require();
        var (a, b) = TwoReplicas();
        var ids = Enumerable.Range(0, 300).Select(i => $"hb-{i:D3}").ToArray();
        await Task.WhenAll(ids.Select((id, i) => a.RegisterAsync(Spec(id, "10.3.0.1", 10_000 + i, ttl: 1), T0).AsTask())).DefaultTimeout();
        var now = T0.AddSeconds(1);

        // Replica A's expiry pass against replica B's heartbeats, id by id interleaved on the server.
        var expiring = Task.WhenAll(ids.Select(id => a.ExpireAsync([id], now).AsTask()));
        var renewing = Task.WhenAll(ids.Select(id => b.RenewAsync([id], 0, now).AsTask()));
        var expired = (await expiring.DefaultTimeout()).SelectMany(r => r).Select(r => r.InstanceId).ToHashSet();
        var renewals = (await renewing.DefaultTimeout()).Select(r => r[0]).ToArray();

        for (var i = 0; i < ids.Length; i++)
        {
            var record = (await a.GetAsync(ids[i]).DefaultTimeout())!;
            if (renewals[i].Result == RenewResult.Renewed)
            {
                Assert.DoesNotContain(ids[i], expired);
                Assert.Equal((InstanceStatus.Healthy, now.AddSeconds(1)), (record.Status, record.ExpiresAt));
            }
            else
            {
                Assert.Contains(ids[i], expired);
                Assert.Equal(InstanceStatus.Expired, record.Status);
            }
        }
        var counts = await a.CountAsync().DefaultTimeout();
        Assert.Equal((ids.Length - expired.Count, expired.Count), (counts.Live, counts.Expired));
    }

    [Fact]
    public async Task TwoReplicasExpiringTheSameInstances_ExpireEachOnce()
    {
        redis.Require();
        var (a, b) = TwoReplicas();
        var ids = Enumerable.Range(0, 500).Select(i => $"x-{i:D3}").ToArray();
        await Task.WhenAll(ids.Select((id, i) => a.RegisterAsync(Spec(id, "10.4.0.1", 10_000 + i, ttl: 1), T0).AsTask())).DefaultTimeout();
        var now = T0.AddSeconds(2);

        var passes = await Task.WhenAll(
            Task.WhenAll(ids.Chunk(50).Select(c => a.ExpireAsync(c, now).AsTask())),
            Task.WhenAll(ids.Chunk(50).Reverse().Select(c => b.ExpireAsync(c, now).AsTask()))).DefaultTimeout();

        var all = passes.SelectMany(p => p).SelectMany(r => r).Select(r => r.InstanceId).ToArray();
        Assert.Equal(ids.Length, all.Length);
        Assert.Equal(ids.Order(StringComparer.Ordinal), all.Order(StringComparer.Ordinal));
    }

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }
}
