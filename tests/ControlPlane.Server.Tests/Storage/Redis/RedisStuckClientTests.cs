using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>
/// The Redis client replaced when it stays without a connection for <see cref="RedisStoreOptions.StuckConnectionTimeout"/>
/// (StackExchange.Redis 1.x can stay "connecting" for good), its subscriptions carried over; and left
/// alone while it is connected. The watchdog runs on a manual clock; Redis is a real server.
/// </summary>
public sealed class RedisStuckClientTests
{
    private static readonly TimeSpan StuckTimeout = TimeSpan.FromSeconds(20);

    private static RedisConnection Connect(RedisServer server, ManualTimeProvider clock) => RedisConnection.Connect(
        new RedisStoreOptions { Url = server.Url, ConnectTimeout = TimeSpan.FromMilliseconds(500), StuckConnectionTimeout = StuckTimeout },
        NullLogger.Instance,
        _ => null,
        clock);

    [Fact]
    public async Task AClientWithoutAConnectionForTheTimeout_IsReplaced_AndItsSubscriptionStillReceives()
    {
        await using var server = await RedisServer.StartAsync();
        await server.StopAsync();
        var clock = new ManualTimeProvider();
        using var connection = Connect(server, clock);
        var channel = new RedisChannel("stuck-test", RedisChannel.PatternMode.Literal);
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Subscribe(channel, (_, message) => received.TrySetResult((string)message!));

        // Down for less than the timeout: the client is left to retry on its own.
        clock.Advance(StuckTimeout / 2);
        Assert.Equal(0, connection.Replacements);

        clock.Advance(StuckTimeout);
        await Eventually.WaitAsync("the stuck client to be replaced", () => connection.Replacements == 1);

        // Redis back: calls go through the fresh client, and the subscription made on the one replaced
        // (closed now, so it receives nothing) receives on the fresh one.
        await server.StartAsync();
        var published = 0;
        await Eventually.WaitAsync("a message published on the channel to reach the subscription", async () =>
        {
            try
            {
                await connection.RunAsync(db => db.PublishAsync(channel, "hello"), CancellationToken.None);
                published++;
                return received.Task.IsCompleted;
            }
            catch (StoreUnavailableException)
            {
                return false;
            }
        }, describe: () => Task.FromResult($"published {published} times; replacements {connection.Replacements}; client status:{Environment.NewLine}{connection.Status}"));
        Assert.Equal("hello", await received.Task.DefaultTimeout());
        Assert.Equal(1, connection.Replacements);
    }

    [Fact]
    public async Task AConnectedClient_IsNeverReplaced()
    {
        await using var server = await RedisServer.StartAsync();
        var clock = new ManualTimeProvider();
        using var connection = Connect(server, clock);
        await connection.RunAsync(db => db.PingAsync(), CancellationToken.None).DefaultTimeout();

        for (var i = 0; i < 5; i++)
        {
            clock.Advance(StuckTimeout);
        }

        Assert.Equal(0, connection.Replacements);
        await connection.RunAsync(db => db.StringSetAsync("stuck-test-key", "v"), CancellationToken.None).DefaultTimeout();
        Assert.Equal("v", (string?)await connection.RunAsync(db => db.StringGetAsync("stuck-test-key"), CancellationToken.None).DefaultTimeout());
    }

    [Fact]
    public async Task WithTheTimeoutZero_AClientIsNeverReplaced()
    {
        await using var server = await RedisServer.StartAsync();
        await server.StopAsync();
        var clock = new ManualTimeProvider();
        using var connection = RedisConnection.Connect(
            new RedisStoreOptions { Url = server.Url, ConnectTimeout = TimeSpan.FromMilliseconds(500), StuckConnectionTimeout = TimeSpan.Zero },
            NullLogger.Instance,
            _ => null,
            clock);

        clock.Advance(TimeSpan.FromMinutes(10));

        Assert.Equal(0, connection.Replacements);
        Assert.Equal(0, clock.ActiveTimers);
    }
}
