using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>The registry store contract on a real redis-server, a fresh key prefix per store.</summary>
public sealed class RedisRegistryStoreTests(RedisFixture redis) : RegistryStoreContract, IClassFixture<RedisFixture>
{
    private readonly List<RedisConnection> _connections = [];

    protected override IRegistryStore CreateStore()
    {
        var connection = redis.Connect(redis.NewPrefix());
        _connections.Add(connection);
        return new RedisRegistryStore(connection);
    }

    public override async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
        await base.DisposeAsync();
    }
}
