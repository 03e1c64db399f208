using System.Globalization;
using ControlPlane.Server.Stats;
using ControlPlane.Server.Storage.Redis;
using ControlPlane.Server.Tests.Stats;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>The load store contract on a real redis-server, a fresh key prefix per store; and what only Redis's layout adds.</summary>
public sealed class RedisLoadStoreTests(RedisFixture redis) : LoadStoreContract, IClassFixture<RedisFixture>
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly List<RedisConnection> _connections = [];

    protected override ILoadStore CreateStore(StatsOptions options, TimeProvider clock)
    {
        var connection = redis.Connect(redis.NewPrefix());
        _connections.Add(connection);
        return new RedisLoadStore(connection, options, clock);
    }

    [Fact]
    public async Task OneImagesStats_ReadOnlyThatImagesKeys_HoweverManyTheBucketCounts()
    {
        // 3,000 instances of img.a and 2 of img.b in one bucket: reading img.b's used to scan every
        // counted key of the bucket, 500 per call.
        var clock = new ManualTimeProvider(T0);
        var store = (RedisLoadStore)CreateStore(new StatsOptions(), clock);
        ulong sequence = 0;
        foreach (var part in Enumerable.Range(0, 3))
        {
            var instances = Enumerable.Range(0, 1_000).Select(i => $"a-{part}-{i:D3}").ToArray();
            await ApplyAsync(store, ++sequence, clock, Batch("img.a", 2_000, instances));
        }
        await ApplyAsync(store, ++sequence, clock, Batch("img.b", 6, "b1", "b2"));
        clock.Advance(TimeSpan.FromSeconds(10));

        var before = await ScriptCallsAsync();
        var instancesOfB = await store.SumAsync(LoadScope.Instances, T0.AddMinutes(-1), clock.GetUtcNow(), "img.b").DefaultTimeout();
        var imageB = await store.SumAsync(LoadScope.Images, T0.AddMinutes(-1), clock.GetUtcNow(), "img.b").DefaultTimeout();
        Assert.Equal(2, await ScriptCallsAsync() - before);

        Assert.Equal([("img.b", "b1", 3L), ("img.b", "b2", 3L)], instancesOfB.Select(t => (t.Image, t.InstanceId, t.Counts.Requests)));
        Assert.Equal([("img.b", 6L)], imageB.Select(t => (t.Image, t.Counts.Requests)));
        // More keys than one call reads: img.a's own index is read in parts, each key once.
        var instancesOfA = await store.SumAsync(LoadScope.Instances, T0.AddMinutes(-1), clock.GetUtcNow(), "img.a").DefaultTimeout();
        Assert.Equal(3_000, instancesOfA.Count);
        Assert.Equal(6_000, instancesOfA.Sum(t => t.Counts.Requests));
    }

    [Fact]
    public async Task BucketsAnEarlierVersionCounted_AreStillReadForOneImage()
    {
        // An earlier version kept no per-image index: a bucket holding keys it counted (alone, or beside
        // this version's) is scanned whole for the image, so a rolling upgrade loses no count.
        var clock = new ManualTimeProvider(T0);
        var connection = redis.Connect(redis.NewPrefix());
        _connections.Add(connection);
        var store = new RedisLoadStore(connection, new StatsOptions(), clock);
        await ApplyAsync(store, 1, clock, Batch("img.b", 4, "b1"));
        await CountAsOldVersionAsync(connection.KeyPrefix, T0, "img.b/old1", 7);
        await CountAsOldVersionAsync(connection.KeyPrefix, T0, "img.a/a1", 100);
        await CountAsOldVersionAsync(connection.KeyPrefix, T0.AddSeconds(10), "img.b/old2", 5);
        clock.Advance(TimeSpan.FromSeconds(20));

        var instancesOfB = await store.SumAsync(LoadScope.Instances, T0.AddMinutes(-1), clock.GetUtcNow(), "img.b").DefaultTimeout();

        Assert.Equal([("b1", 4L), ("old1", 7L), ("old2", 5L)], instancesOfB.Select(t => (t.InstanceId, t.Counts.Requests)));
    }

    /// <summary>What an earlier version wrote for an instance's requests: the counter and the bucket's inst index, nothing more.</summary>
    private async Task CountAsOldVersionAsync(string prefix, DateTimeOffset at, string key, long requests)
    {
        var window = (at.ToUnixTimeSeconds() / 10 * 10).ToString(CultureInfo.InvariantCulture);
        await redis.AdminDatabase.StringSetAsync($"{prefix}lb:cnt:{window}:req:{key}", requests, TimeSpan.FromHours(1)).DefaultTimeout();
        await redis.AdminDatabase.SetAddAsync($"{prefix}lb:idx:{window}:inst", key).DefaultTimeout();
    }

    /// <summary>Script calls the server has run for clients (EVALSHA and EVAL).</summary>
    private async Task<long> ScriptCallsAsync()
    {
        var stats = await redis.AdminServer.InfoAsync("commandstats").DefaultTimeout();
        return stats.SelectMany(g => g)
            .Where(e => e.Key is "cmdstat_evalsha" or "cmdstat_eval")
            .Sum(e => long.Parse(e.Value.Split(',')[0]["calls=".Length..], CultureInfo.InvariantCulture));
    }

    private static async Task ApplyAsync(RedisLoadStore store, ulong sequence, TimeProvider clock, LoadBatch batch) =>
        Assert.Equal(ReportDisposition.Accepted, (await store.ApplyAsync(new ReportKey("node-1", "e1"), sequence, batch, clock.GetUtcNow()).DefaultTimeout()).Disposition);

    public override void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
        base.Dispose();
    }
}
