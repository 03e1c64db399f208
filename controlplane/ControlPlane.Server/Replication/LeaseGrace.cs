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
    private ITimer? _contact;

    /// <summary>This process's id in <c>replica_contact</c>, which it touches every revision check interval.</summary>
    private readonly string _replicaId = Guid.NewGuid().ToString("N");

    /// <summary>Redis's time of the last contact it answered before an outage (0: none yet). Under <see cref="_lock"/>.</summary>
    private long _lastContact;

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
        _contact = _clock.CreateTimer(static s => ((LeaseGrace)s!).TouchContact(), this, TimeSpan.Zero, _options.RevisionCheckInterval);
        if (_redis.Unreachable)
        {
            OnUnavailable();
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        _contact?.Dispose();
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
            _pendingOutage = _follower.Relayed?.ToString() ?? "unsynced:" + Guid.NewGuid().ToString("N");
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
            // Every replica touches its contact each interval: one later than two intervals (and a second) after
            // this replica's last was made during its outage, so Redis was up and only this replica was cut off.
            var margin = (2 * _options.RevisionCheckInterval) + TimeSpan.FromSeconds(1);
            long lastContact;
            lock (_lock)
            {
                lastContact = _lastContact;
            }
            var moved = await _store.ExtendLeasesAsync(now, _options.LeaseGrace, outage, _options.LeaseGraceMarkerLifetime, cancellationToken, _replicaId, lastContact, margin);
            lock (_lock)
            {
                if (_pendingOutage == outage)
                {
                    _pendingOutage = null;
                }
            }
            switch (moved)
            {
                case RedisRegistryStore.AlreadyExtended:
                    ReplicationLog.LeasesAlreadyExtended(_logger, outage);
                    break;
                case RedisRegistryStore.OnlyThisReplicaWasCutOff:
                    ReplicationLog.OnlyThisReplicaWasCutOff(_logger, outage);
                    break;
                default:
                    _metrics.LeasesExtended();
                    ReplicationLog.LeasesExtended(_logger, moved, outage);
                    break;
            }
        }
        finally
        {
            _running.Release();
        }
    }

    /// <summary>
    /// Tells Redis this replica is in contact. Not while an outage is pending: its last contact before the
    /// outage is what <see cref="ExtendAsync"/> compares the others' with.
    /// </summary>
    private void TouchContact()
    {
        if (_redis.Unreachable || PendingOutage is not null)
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                // Noted only when it reaches Redis promptly: one held by a hung Redis and run as it wakes is no contact.
                // The system clock, not the injected one: it is compared with Redis's own.
                var at = await _store.TouchContactAsync(_replicaId, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(2));
                lock (_lock)
                {
                    // An answer that arrives once an outage is pending may be of a touch Redis ran late: not a contact before it.
                    if (_pendingOutage is null && at > _lastContact)
                    {
                        _lastContact = at;
                    }
                }
            }
            catch (Storage.StoreUnavailableException)
            {
            }
        });
    }

    private void Unsubscribe()
    {
        _redis.BecameUnreachable -= OnUnavailable;
        _redis.BecameReachable -= OnAvailable;
    }

    public void Dispose()
    {
        _contact?.Dispose();
        Unsubscribe();
        _running.Dispose();
    }
}
