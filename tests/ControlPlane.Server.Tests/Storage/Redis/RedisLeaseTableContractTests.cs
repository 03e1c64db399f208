using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;

namespace ControlPlane.Server.Tests.Storage.Redis;

/// <summary>
/// The registry store contract on Redis with a lease table: renewals of known ids answered from memory,
/// checkpointed only when the store's own reads and expiry need them (the clock never moves, so no timer
/// fires). One replica, so no expiry lag: its own scan writes its pending renewals first.
/// </summary>
public sealed class RedisLeaseTableContractTests(RedisFixture redis) : RegistryStoreContract, IClassFixture<RedisFixture>
{
    private readonly List<RedisConnection> _connections = [];

    protected override IRegistryStore CreateStore()
    {
        var connection = redis.Connect(redis.NewPrefix());
        _connections.Add(connection);
        var options = new RedisStoreOptions { RenewalCheckpointInterval = TimeSpan.FromSeconds(1), ExpiryLag = TimeSpan.Zero };
        return new RedisRegistryStore(connection, options, new ManualTimeProvider(T0));
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }
}
