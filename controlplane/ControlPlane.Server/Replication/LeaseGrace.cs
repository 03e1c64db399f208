using ControlPlane.Server.Registry;
using ControlPlane.Server.Storage.Redis;

namespace ControlPlane.Server.Replication;

/// <summary>
/// Extends the leases after a Redis outage, so that no instance expires for heartbeats the control
/// plane could not record. The replica notes an outage when a store call fails as unavailable (or
/// the connection drops) and names it after the last change it had applied, which replicas in step
/// share; when Redis answers again it extends every live lease to at least now + the grace (one
/// script, guarded by a marker of that name, so the replicas that noticed the same outage do it
/// once). Its own expiry passes wait for this (<see cref="IExpiryGate"/>); a replica that noticed
/// no outage lost no heartbeats, and a mass expiry by it is held by self-preservation.
/// </summary>
internal sealed class LeaseGrace : IExpiryGate, IHostedService, IDisposable
{
    private readonly object _lock = new();
    private readonly SemaphoreSlim _running = new(1, 1);
    private readonly RedisConnection _redis;
    private readonly RedisRegistryStore _store;
    private readonly ChangeFollower _follower;
    private readonly ReplicationOptions _options;
    private readonly TimeProvider _clock;
    private readonly ReplicationMetrics _metrics;
    private readonly ILogger _logger;
    private string? _pendingOutage;

    public LeaseGrace(
        RedisConnection redis, RedisRegistryStore store, ChangeFollower follower, ReplicationOptions options, TimeProvider clock, ReplicationMetrics metrics, ILogger<LeaseGrace> logger)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(follower);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _redis = redis;
        _store = store;
        _follower = follower;
        _options = options;
        _clock = clock;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>The outage whose leases are still to be extended, or null.</summary>
    public string? PendingOutage
    {
        get
        {
            lock (_lock)
            {
                return _pendingOutage;
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _redis.BecameUnreachable += OnUnavailable;
        _redis.BecameReachable += OnAvailable;
        if (_redis.Unreachable)
        {
            OnUnavailable();
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Unsubscribe();
        return Task.CompletedTask;
    }

    public async ValueTask BeforeExpiryAsync(DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        if (PendingOutage is not null)
        {
            await ExtendAsync(now, cancellationToken);
        }
    }

    private void OnUnavailable()
    {
        lock (_lock)
        {
            if (_pendingOutage is not null)
            {
                return;
            }
            // Replicas in step name it alike; one that is not yet has no name to share.
            _pendingOutage = _follower.Position ?? "unsynced:" + Guid.NewGuid().ToString("N");
        }
        ReplicationLog.StoreLost(_logger);
    }

    private void OnAvailable() => _ = Task.Run(async () =>
    {
        try
        {
            await ExtendAsync(_clock.GetUtcNow(), CancellationToken.None);
        }
        catch (Exception ex) when (ex is Storage.StoreUnavailableException)
        {
            // Unreachable again: still pending, for the next return or the next expiry pass.
        }
    });

    private async Task ExtendAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await _running.WaitAsync(cancellationToken);
        try
        {
            var outage = PendingOutage;
            if (outage is null)
            {
                return;
            }
            var moved = await _store.ExtendLeasesAsync(now, _options.LeaseGrace, outage, _options.LeaseGraceMarkerLifetime, cancellationToken);
            lock (_lock)
            {
                if (_pendingOutage == outage)
                {
                    _pendingOutage = null;
                }
            }
            if (moved is { } count)
            {
                _metrics.LeasesExtended();
                ReplicationLog.LeasesExtended(_logger, count, outage);
            }
            else
            {
                ReplicationLog.LeasesAlreadyExtended(_logger, outage);
            }
        }
        finally
        {
            _running.Release();
        }
    }

    private void Unsubscribe()
    {
        _redis.BecameUnreachable -= OnUnavailable;
        _redis.BecameReachable -= OnAvailable;
    }

    public void Dispose()
    {
        Unsubscribe();
        _running.Dispose();
    }
}
