using ControlPlane.Server.Stats;
using ControlPlane.Server.Storage.Redis;
using ControlPlane.Server.Tests.Stats;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>The load store contract on a real redis-server, a fresh key prefix per store.</summary>
public sealed class RedisLoadStoreTests(RedisFixture redis) : LoadStoreContract, IClassFixture<RedisFixture>
{
    private readonly List<RedisConnection> _connections = [];

    protected override ILoadStore CreateStore(StatsOptions options, TimeProvider clock)
    {
        var connection = redis.Connect(redis.NewPrefix());
        _connections.Add(connection);
        return new RedisLoadStore(connection, options, clock);
    }

    public override void Dispose()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
        base.Dispose();
    }
}
