using System.Threading.Channels;
using ControlPlane.Api.V1;
using ControlPlane.Server.Policies;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>
/// The change feed replicas follow: every script that changes what nodes are sent records one
/// revision, logs it and announces it in the same step; changes that nodes would not see record none.
/// </summary>
public sealed class RedisChangeFeedTests(RedisFixture redis) : IClassFixture<RedisFixture>, IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly List<RedisConnection> _connections = [];

    private (RedisRegistryStore Registry, RedisPolicyStore Policies, RedisChangeFeed Feed) Stores(string prefix, RedisServer? server = null)
    {
        var connection = server is null
            ? redis.Connect(prefix)
            : RedisConnection.Connect(new RedisStoreOptions { Url = server.Url, KeyPrefix = prefix }, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, _ => null);
        _connections.Add(connection);
        return (new RedisRegistryStore(connection), new RedisPolicyStore(connection), new RedisChangeFeed(connection));
    }

    private static InstanceSpec Spec(string id, int port, string image = "img.a", int ttl = 30, string metadata = "{}") =>
        new(id, "svc", image, "10.0.0.1", port, "eu-central", InstanceSpec.Encode(Google.Protobuf.WellKnownTypes.Struct.Parser.ParseJson(metadata)), ttl);

    private static RoutingPolicy Policy(string image, string algorithm)
    {
        var policy = new RoutingPolicy { Image = image, Algorithm = algorithm };
        policy.Version = PolicyRegistry.VersionOf(policy);
        return policy;
    }

    /// <summary>Subscribes and waits until a marker change arrives, so that no later message can be missed.</summary>
    private static async Task<(Channel<StoreChange> Messages, IDisposable Subscription)> SubscribeAsync(RedisChangeFeed feed, RedisRegistryStore registry)
    {
        var messages = Channel.CreateUnbounded<StoreChange>();
        var subscription = feed.Subscribe(c => messages.Writer.TryWrite(c), () => { });
        var drain = false;
        await Eventually.WaitAsync("the subscription to receive", async () =>
        {
            drain = !drain;
            await registry.SetDrainingAsync("marker", drain);
            return messages.Reader.TryRead(out _);
        });
        return (messages, subscription);
    }

    /// <summary>The messages of revisions after <paramref name="after"/> up to <paramref name="upTo"/>, as received.</summary>
    private static async Task<List<StoreChange>> DrainAsync(Channel<StoreChange> messages, long after, long upTo)
    {
        var received = new List<StoreChange>();
        while (received.Count == 0 || received[^1].Revision < upTo)
        {
            var message = await messages.Reader.ReadAsync().AsTask().DefaultTimeout();
            if (message.Revision > after)
            {
                received.Add(message);
            }
        }
        return received;
    }

    [Fact]
    public async Task ChangesNodesSee_AreRevisionedLoggedAndAnnounced_InOneStep_AndOthersAreNot()
    {
        redis.Require();
        var (registry, policies, feed) = Stores(redis.NewPrefix());
        await registry.RegisterAsync(Spec("marker", 9000), T0).DefaultTimeout();
        var (messages, subscription) = await SubscribeAsync(feed, registry);
        using var _ = subscription;
        var start = (await feed.ReadSinceAsync(0, 100).DefaultTimeout()).Current;

        await registry.RegisterAsync(Spec("a1", 8081), T0).DefaultTimeout();                 // +1
        await registry.RegisterAsync(Spec("a1", 8081), T0.AddSeconds(1)).DefaultTimeout();   // same content: nothing
        await registry.RenewAsync(["a1"], 0, T0.AddSeconds(2)).DefaultTimeout();            // a renewal: nothing
        await registry.RegisterAsync(Spec("a1", 8081, metadata: "{\"weight\": 3}"), T0).DefaultTimeout(); // +1 (weight)
        await registry.SetDrainingAsync("a1", true).DefaultTimeout();                       // +1
        await registry.SetDrainingAsync("a1", true).DefaultTimeout();                       // already draining: nothing
        await registry.RegisterAsync(Spec("b1", 8082, image: "img.b", ttl: 5), T0).DefaultTimeout();      // +1
        await registry.RegisterAsync(Spec("b2", 8083, image: "img.b", ttl: 5), T0).DefaultTimeout();      // +1
        await registry.ExpireAsync(["b1", "b2"], T0.AddSeconds(5)).DefaultTimeout();        // one image: +1
        await registry.DeregisterAsync("b1").DefaultTimeout();                              // expired: +1 (img.b's set goes with its last record)
        await registry.RemoveExpiredAsync(T0.AddHours(1), TimeSpan.FromSeconds(60)).DefaultTimeout(); // b2 removed after the retention: +1
        await registry.RemoveExpiredAsync(T0.AddHours(1), TimeSpan.FromSeconds(60)).DefaultTimeout(); // none left: nothing
        var set = await policies.SetAsync(Policy("img.a", "least_conn"), new PolicyAudit(T0, "ops", "", "r")).DefaultTimeout(); // +1
        await policies.SetAsync(Policy("img.a", "least_conn"), new PolicyAudit(T0, "ops", "", "r")).DefaultTimeout();           // same version: nothing
        await policies.DeleteAsync("img.a", new PolicyAudit(T0, "ops", "", "r")).DefaultTimeout();  // +1
        await registry.DeregisterAsync("a1").DefaultTimeout();                              // +1
        Assert.True(set.Stored);

        string[] expected = ["endpoints img.a a1", "endpoints img.a a1", "endpoints img.a a1", "endpoints img.b b1", "endpoints img.b b2", "endpoints img.b b1 b2", "endpoints img.b b1", "endpoints img.b b2", "policy img.a", "policy img.a", "endpoints img.a a1"];
        var log = await feed.ReadSinceAsync(start, 100).DefaultTimeout();
        Assert.Equal(start + expected.Length, log.Current);
        Assert.Equal(expected.Select((e, i) => $"{start + 1 + i} {e}"), log.Changes.Select(c => $"{c.Revision} {c.Kind} {string.Join(' ', [c.Name, .. c.InstanceIds ?? []])}"));
        var announced = await DrainAsync(messages, start, log.Current);
        Assert.Equal(log.Changes.Select(Text), announced.Select(Text));
        Assert.False(messages.Reader.TryRead(out var extra), $"unexpected {extra}");
    }

    [Fact]
    public async Task AnEntry_NamesAtMost64Instances_PastThatTheWholeImage()
    {
        redis.Require();
        var (registry, _, feed) = Stores(redis.NewPrefix());
        var ids = Enumerable.Range(0, 129).Select(i => $"c{i:D3}").ToArray();
        for (var i = 0; i < ids.Length; i++)
        {
            await registry.RegisterAsync(Spec(ids[i], 9100 + i, image: "img.c", ttl: 5), T0).DefaultTimeout();
        }
        var start = (await feed.ReadSinceAsync(0, 1).DefaultTimeout()).Current;

        await registry.ExpireAsync(ids[..64], T0.AddSeconds(5)).DefaultTimeout();
        await registry.ExpireAsync(ids[64..], T0.AddSeconds(5)).DefaultTimeout();

        var log = await feed.ReadSinceAsync(start, 10).DefaultTimeout();
        Assert.Equal(2, log.Changes.Count);
        Assert.Equal(ids[..64], log.Changes[0].InstanceIds!);
        Assert.Equal(("img.c", null), (log.Changes[1].Name, log.Changes[1].InstanceIds));
    }

    [Fact]
    public async Task TheLog_KeepsTheNewest10000_AndSaysWhereItStarts()
    {
        redis.Require();
        var (registry, _, feed) = Stores(redis.NewPrefix());
        await registry.RegisterAsync(Spec("a1", 8081), T0).DefaultTimeout();
        // 10,010 more changes: one to load the script on the server, then pipelined (one connection
        // keeps their order; a first call answered NOSCRIPT would be sent again out of order).
        await registry.SetDrainingAsync("a1", true).DefaultTimeout();
        await Task.WhenAll(Enumerable.Range(0, 10_009).Select(i => registry.SetDrainingAsync("a1", i % 2 == 1).AsTask()).ToArray()).DefaultTimeout();

        var read = await feed.ReadSinceAsync(0, 5).DefaultTimeout();
        Assert.Equal(10_011, read.Current);
        Assert.Equal(12, read.Oldest);
        Assert.Equal([12L, 13, 14, 15, 16], read.Changes.Select(c => c.Revision));
        Assert.Equal([10_011L], (await feed.ReadSinceAsync(10_010, 5).DefaultTimeout()).Changes.Select(c => c.Revision));
        Assert.Empty((await feed.ReadSinceAsync(10_011, 5).DefaultTimeout()).Changes);
    }

    [Fact]
    public async Task TheEpochStaysWhileTheKeysDo_TheServerIdChangesWithARestart()
    {
        await using var server = await RedisServer.StartAsync("--appendonly", "yes", "--appendfsync", "always");
        var (registry, _, feed) = Stores("", server);
        await registry.RegisterAsync(Spec("a1", 8081), T0).DefaultTimeout();
        var before = await feed.ReadSinceAsync(0, 10).DefaultTimeout();
        Assert.NotEmpty(before.ServerId);
        Assert.Equal(before.Epoch, (await feed.ReadSinceAsync(0, 10).DefaultTimeout()).Epoch);

        await server.StopAsync();
        await server.StartAsync();
        var after = await Eventually.ResultAsync("the store to answer again", () => feed.ReadSinceAsync(0, 10).AsTask());
        Assert.Equal((before.Epoch, 1L), (after.Epoch, after.Current)); // kept by the append-only file
        Assert.NotEqual(before.ServerId, after.ServerId);

        // A store emptied (here: flushed) starts another revision sequence.
        await registry.DeregisterAsync("a1").DefaultTimeout();
        var flushed = await FlushedReadAsync(server, feed);
        Assert.NotEqual(before.Epoch, flushed.Epoch);
        Assert.Equal(0, flushed.Current);
    }

    private static async Task<ChangeLogRead> FlushedReadAsync(RedisServer server, RedisChangeFeed feed)
    {
        using var admin = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync($"127.0.0.1:{server.Port},allowAdmin=true").DefaultTimeout();
        await admin.GetServer("127.0.0.1", server.Port).FlushDatabaseAsync(0).DefaultTimeout();
        return await feed.ReadSinceAsync(0, 10).DefaultTimeout();
    }

    private static string Text(StoreChange c) => $"{c.Revision} {c.Kind} {c.Name} [{string.Join(',', c.InstanceIds ?? ["(all)"])}]";

    [Fact]
    public void Messages_AreParsed_NamesMayHoldSpaces_MalformedOnesAreNot()
    {
        Assert.True(StoreChange.TryParse("42 endpoints img.a", out var change));
        Assert.Equal(new StoreChange(42, "endpoints", "img.a"), change);
        // An endpoints entry may name the instances that changed; other kinds' names may hold spaces.
        Assert.True(StoreChange.TryParse("43 endpoints img.a i1 i-2:x", out change));
        Assert.Equal((43L, "endpoints", "img.a"), (change.Revision, change.Kind, change.Name));
        Assert.Equal(["i1", "i-2:x"], change.InstanceIds!);
        Assert.True(StoreChange.TryParse("44 endpoints img.a ", out change));
        Assert.Equal(("img.a", null), (change.Name, change.InstanceIds));
        Assert.True(StoreChange.TryParse("7 policy a b", out change));
        Assert.Equal(("a b", null), (change.Name, change.InstanceIds));
        Assert.False(StoreChange.TryParse("x endpoints img.a", out _));
        Assert.False(StoreChange.TryParse("-1 endpoints img.a", out _));
        Assert.False(StoreChange.TryParse("42 endpoints", out _));
        Assert.False(StoreChange.TryParse(null, out _));
    }

    public void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }
}
