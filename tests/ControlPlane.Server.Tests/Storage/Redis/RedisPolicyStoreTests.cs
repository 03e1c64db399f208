using ControlPlane.Server.Policies;
using ControlPlane.Server.Storage.Redis;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>The policy store contract on a real redis-server, a fresh key prefix per store.</summary>
public sealed class RedisPolicyStoreTests(RedisFixture redis) : PolicyStoreContract, IClassFixture<RedisFixture>
{
    private readonly List<RedisConnection> _connections = [];

    protected override IPolicyStore CreateStore(int maxChangesPerImage = InMemoryPolicyStore.DefaultMaxChangesPerImage)
    {
        var connection = redis.Connect(redis.NewPrefix());
        _connections.Add(connection);
        return new RedisPolicyStore(connection, maxChangesPerImage);
    }

    public override ValueTask DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
        return base.DisposeAsync();
    }
}
