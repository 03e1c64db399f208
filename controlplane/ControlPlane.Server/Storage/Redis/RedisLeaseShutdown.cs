namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// Writes the final lease checkpoint when the host stops, so a replica stopped gracefully loses no
/// renewal it answered from memory (one killed loses at most a checkpoint interval's, which the expiry
/// lag covers).
/// </summary>
internal sealed class RedisLeaseShutdown(IRegistryStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => store is RedisRegistryStore redis ? redis.StopRenewalsAsync(cancellationToken) : Task.CompletedTask;
}
