using ControlPlane.Server.Storage.Redis;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>
/// One real redis-server per test class (started on a free loopback port, killed on dispose). Each
/// test takes its own key prefix, so tests never see each other's keys and nothing is flushed.
/// </summary>
public sealed class RedisFixture : IAsyncLifetime
{
    private int _prefixes;
    private ConnectionMultiplexer? _admin;

    public RedisServer? Server { get; private set; }

    public async ValueTask InitializeAsync()
    {
        // Missing binary: each test skips (or fails in CI) through Require.
        if (RedisServer.Installed)
        {
            Server = await RedisServer.StartAsync();
        }
    }

    /// <summary>The server, or a skip (a failure in CI) when redis-server is not installed.</summary>
    public RedisServer Require()
    {
        RedisServer.Require();
        return Server ?? throw new InvalidOperationException("redis-server did not start");
    }

    public string NewPrefix() => $"t{Interlocked.Increment(ref _prefixes)}:";

    internal RedisConnection Connect(string prefix, Func<string, string?>? getVariable = null) =>
        RedisConnection.Connect(new RedisStoreOptions { Url = Require().Url, KeyPrefix = prefix }, NullLogger.Instance, getVariable ?? (_ => null));

    /// <summary>A plain client with admin commands (INFO, CONFIG, SCRIPT) for looking at the server from outside the store.</summary>
    public IServer AdminServer => Admin().GetServer("127.0.0.1", Require().Port);

    public IDatabase AdminDatabase => Admin().GetDatabase();

    private ConnectionMultiplexer Admin() =>
        _admin ??= ConnectionMultiplexer.Connect(new ConfigurationOptions { EndPoints = { { "127.0.0.1", Require().Port } }, AllowAdmin = true, AbortOnConnectFail = false });

    public async ValueTask DisposeAsync()
    {
        _admin?.Dispose();
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }
    }
}
