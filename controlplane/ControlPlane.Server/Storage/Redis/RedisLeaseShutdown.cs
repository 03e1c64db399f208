namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// Writes the final lease checkpoint when the host stops, so a replica stopped gracefully loses no
/// renewal it answered from memory (one killed loses at most a checkpoint interval's, which the expiry
/// lag covers).
/// </summary>
internal sealed class RedisLeaseShutdown(IRegistryStore store, ILogger<RedisLeaseShutdown> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (store is not RedisRegistryStore redis || redis.Leases is not { } leases)
        {
            return;
        }
        try
        {
            await redis.StopRenewalsAsync(cancellationToken);
        }
        catch (StoreUnavailableException ex)
        {
            // Redis is down as the replica stops: like a replica killed, it leaves renewals the lag covers.
            RedisStoreLog.FinalCheckpointFailed(logger, ex, leases.Count);
        }
    }
}
