using System.Diagnostics;
using ControlPlane.Server.Policies;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;
using Microsoft.Extensions.Logging.Abstractions;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>Redis going away and coming back, as the stores see it (each test has its own server to stop).</summary>
public sealed class RedisOutageTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static InstanceSpec Spec(string id, int port) => new(id, "svc", "img", "10.0.0.1", port, "", Google.Protobuf.ByteString.Empty, 30);

    [Fact]
    public async Task WhileRedisIsDown_EveryCallFailsFast_AsUnavailable_AndWorksAgainWhenItReturns()
    {
        await using var server = await RedisServer.StartAsync();
        using var connection = RedisConnection.Connect(new RedisStoreOptions { Url = server.Url }, NullLogger.Instance, _ => null);
        var registry = new RedisRegistryStore(connection);
        var policies = new RedisPolicyStore(connection);
        await registry.RegisterAsync(Spec("i1", 8080), T0).DefaultTimeout();

        await server.StopAsync();

        var clock = Stopwatch.StartNew();
        await Assert.ThrowsAsync<StoreUnavailableException>(() => registry.PingAsync().AsTask()).DefaultTimeout();
        await Assert.ThrowsAsync<StoreUnavailableException>(() => registry.RegisterAsync(Spec("i2", 8081), T0).AsTask()).DefaultTimeout();
        await Assert.ThrowsAsync<StoreUnavailableException>(() => registry.RenewAsync(["i1"], 0, T0).AsTask()).DefaultTimeout();
        await Assert.ThrowsAsync<StoreUnavailableException>(() => registry.ListAsync(new InstanceQuery()).AsTask()).DefaultTimeout();
        await Assert.ThrowsAsync<StoreUnavailableException>(() => policies.GetAsync("img").AsTask()).DefaultTimeout();
        await Assert.ThrowsAsync<StoreUnavailableException>(() => policies.DeleteAsync("img", new PolicyAudit(T0, "ops", "", "r")).AsTask()).DefaultTimeout();
        // Fast: a lost connection is known, not waited out for the command timeout (5 s) per call.
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the failing calls took {clock.Elapsed}");

        // Back (empty: the test server persists nothing), after the client reconnects by itself.
        await server.StartAsync();
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                await registry.PingAsync();
                return true;
            }
            catch (StoreUnavailableException)
            {
                return false;
            }
        }, "the store to reconnect");
        Assert.Equal(RegisterResult.Created, (await registry.RegisterAsync(Spec("i2", 8081), T0).DefaultTimeout()).Result);
    }

    [Fact]
    public async Task WhileRedisHangs_CallsGiveUpAfterTheCommandTimeout_AsUnavailable()
    {
        await using var server = await RedisServer.StartAsync();
        var timeout = TimeSpan.FromMilliseconds(300);
        using var connection = RedisConnection.Connect(new RedisStoreOptions { Url = server.Url, CommandTimeout = timeout }, NullLogger.Instance, _ => null);
        var registry = new RedisRegistryStore(connection);
        await registry.RegisterAsync(Spec("i1", 8080), T0).DefaultTimeout();

        server.Pause();
        try
        {
            var clock = Stopwatch.StartNew();
            await Assert.ThrowsAsync<StoreUnavailableException>(() => registry.RenewAsync(["i1"], 0, T0.AddSeconds(1)).AsTask()).DefaultTimeout();
            await Assert.ThrowsAsync<StoreUnavailableException>(() => registry.PingAsync().AsTask()).DefaultTimeout();
            // Timers may fire a little before the stopwatch says the time is up: allow 20 ms.
            Assert.InRange(clock.Elapsed, 2 * timeout - TimeSpan.FromMilliseconds(20), 2 * timeout + TimeSpan.FromSeconds(5));
        }
        finally
        {
            server.Resume();
        }

        // The renewal sent before the pause gave up may still have run once Redis woke: either way the instance is live.
        Assert.Equal(RenewResult.Renewed, (await registry.RenewAsync(["i1"], 0, T0.AddSeconds(2)).DefaultTimeout())[0].Result);
    }

    [Fact]
    public async Task WhileRedisHangs_AReadMemoryCanAnswer_WaitsASecond_NotTheCommandTimeout()
    {
        // A hung Redis is known unreachable only once a call waited out the command timeout (a minute
        // here); a read the replica's mirror can answer is answered from it after a second (virtual time).
        await using var server = await RedisServer.StartAsync();
        var clock = new ManualTimeProvider(T0);
        using var connection = RedisConnection.Connect(new RedisStoreOptions { Url = server.Url, CommandTimeout = TimeSpan.FromMinutes(1) }, NullLogger.Instance, _ => null, clock);
        var mirror = new StoreMirror();
        var registry = new RedisRegistryStore(connection, clock: clock, mirror: mirror);
        await registry.RegisterAsync(Spec("i1", 8080), T0).DefaultTimeout();
        await new MirroredRegistryReads(registry, mirror).ListAsync(new InstanceQuery()).DefaultTimeout(); // what the follower loads

        server.Pause();
        try
        {
            var read = registry.GetAsync("i1").AsTask();
            var listing = registry.ListAsync(new InstanceQuery(Name: "svc")).AsTask();
            clock.Advance(TimeSpan.FromMilliseconds(999));
            Assert.False(read.IsCompleted || listing.IsCompleted, "answered before a second passed");

            clock.Advance(TimeSpan.FromMilliseconds(1));

            Assert.Equal("i1", (await read.DefaultTimeout())!.InstanceId);
            Assert.Equal(["i1"], (await listing.DefaultTimeout()).Select(r => r.InstanceId));
            Assert.False(connection.Unreachable); // not known yet: only the command timeout tells
        }
        finally
        {
            server.Resume();
        }
    }

    [Fact]
    public async Task WhileRedisHangs_AWriteRefusedOnceTheOutageIsKnown_IsNotSent_SoNotAppliedWhenRedisWakes()
    {
        await using var server = await RedisServer.StartAsync();
        using var connection = RedisConnection.Connect(new RedisStoreOptions { Url = server.Url, CommandTimeout = TimeSpan.FromMilliseconds(300) }, NullLogger.Instance, _ => null);
        var registry = new RedisRegistryStore(connection);
        var policies = new RedisPolicyStore(connection);
        await registry.RegisterAsync(Spec("i1", 8080), T0).DefaultTimeout();

        server.Pause();
        try
        {
            await Assert.ThrowsAsync<StoreUnavailableException>(() => registry.PingAsync().AsTask()).DefaultTimeout(); // the outage is known now
            await Assert.ThrowsAsync<StoreUnavailableException>(() => registry.RegisterAsync(Spec("i2", 8081), T0).AsTask()).DefaultTimeout();
            await Assert.ThrowsAsync<StoreUnavailableException>(() => registry.DeregisterAsync("i1").AsTask()).DefaultTimeout();
            await Assert.ThrowsAsync<StoreUnavailableException>(() => policies.DeleteAsync("img", new PolicyAudit(T0, "ops", "", "r")).AsTask()).DefaultTimeout();
        }
        finally
        {
            server.Resume();
        }
        await StoreAnswers.AgainAsync(registry);

        // Whatever was sent before the ping's answer has run by now (one connection, in order): the
        // refused writes were not among it. The caller was told they failed, and they did.
        Assert.NotNull(await registry.GetAsync("i1").DefaultTimeout());
        Assert.Null(await registry.GetAsync("i2").DefaultTimeout());
        Assert.Equal(RegisterResult.Created, (await registry.RegisterAsync(Spec("i2", 8081), T0).DefaultTimeout()).Result);
    }

    [Fact]
    public async Task WhileRedisHangs_OnceTheOutageIsKnown_WritesAndStoreOnlyReadsAreRefusedWithoutWaitingOutTheCommandTimeoutEach()
    {
        await using var server = await RedisServer.StartAsync();
        var timeout = TimeSpan.FromSeconds(3);
        using var connection = RedisConnection.Connect(new RedisStoreOptions { Url = server.Url, CommandTimeout = timeout }, NullLogger.Instance, _ => null);
        var registry = new RedisRegistryStore(connection);
        await registry.RegisterAsync(Spec("i1", 8080), T0).DefaultTimeout();

        server.Pause();
        try
        {
            await Assert.ThrowsAsync<StoreUnavailableException>(() => registry.PingAsync().AsTask()).DefaultTimeout(); // the outage is known now
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < 3; i++)
            {
                await Assert.ThrowsAsync<StoreUnavailableException>(() => registry.DeregisterAsync("i1").AsTask()).DefaultTimeout();
            }
            // Each waits at most a second for the PING that would say Redis is back (3 s each before).
            Assert.True(clock.Elapsed < 2 * timeout, $"three refused writes took {clock.Elapsed}");

            // Reads only Redis can answer (a policy's audit trail) too.
            var policies = new RedisPolicyStore(connection);
            clock.Restart();
            for (var i = 0; i < 3; i++)
            {
                await Assert.ThrowsAsync<StoreUnavailableException>(() => policies.ListChangesAsync("img", 10).AsTask()).DefaultTimeout();
            }
            Assert.True(clock.Elapsed < 2 * timeout, $"three refused reads took {clock.Elapsed}");
        }
        finally
        {
            server.Resume();
        }
        await StoreAnswers.AgainAsync(registry);
        Assert.NotNull(await registry.GetAsync("i1").DefaultTimeout());
    }

    [Fact]
    public async Task AStoreStartedWhileRedisIsDown_IsUnavailable_UntilRedisComes()
    {
        await using var server = await RedisServer.StartAsync();
        await server.StopAsync();

        using var connection = RedisConnection.Connect(new RedisStoreOptions { Url = server.Url, ConnectTimeout = TimeSpan.FromMilliseconds(500) }, NullLogger.Instance, _ => null);
        var registry = new RedisRegistryStore(connection);
        await Assert.ThrowsAsync<StoreUnavailableException>(() => registry.CountAsync().AsTask()).DefaultTimeout();

        await server.StartAsync();
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                return (await registry.CountAsync()).Live == 0;
            }
            catch (StoreUnavailableException)
            {
                return false;
            }
        }, "the store to connect");
    }
}
