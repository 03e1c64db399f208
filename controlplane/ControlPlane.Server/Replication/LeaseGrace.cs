using ControlPlane.Server.Registry;
using ControlPlane.Server.Storage.Redis;
using ControlPlane.Hosting;

namespace ControlPlane.Server.Replication;

/// <summary>
/// Extends the leases after a Redis outage, so that no instance expires for heartbeats the control
/// plane could not record. The replica notes an outage when a store call fails as unavailable (or
/// the connection drops); when Redis answers again it extends every live lease to at least now + the
/// grace, in one script that decides by Redis's own clock: unless Redis has heard from another
/// replica within the last two revision check intervals and a second (<c>replica_contact</c>, which
/// every replica in contact touches each interval), one in contact without a break for at least as
/// long (so not one started as Redis returned), no replica was recording heartbeats, whatever
/// this one saw of earlier outages. Otherwise only this replica was cut off (agents could renew
/// through the others), or another back from the same outage has just extended, and it extends
/// nothing. Its own expiry passes wait for this (<see cref="IExpiryGate"/>); a replica that noticed
/// no outage lost no heartbeats, and a mass expiry by it is held by self-preservation.
/// </summary>
internal sealed class LeaseGrace : IExpiryGate, IHostedService, IDisposable
{
    private readonly object _lock = new();
    private readonly SemaphoreSlim _running = new(1, 1);
    private readonly RedisConnection _redis;
    private readonly RedisRegistryStore _store;
    private readonly ReplicationOptions _options;
    private readonly TimeProvider _clock;
    private readonly ReplicationMetrics _metrics;
    private readonly ILogger _logger;
    private ITimer? _contact;

    /// <summary>Outages noticed, and of those the last one settled (its leases extended, or found not to need it). Under <see cref="_lock"/>.</summary>
    private long _outages, _settled;

    /// <summary>This process's id in <c>replica_contact</c>, which it touches every revision check interval.</summary>
    private readonly string _replicaId = Guid.NewGuid().ToString("N");

    public LeaseGrace(
        RedisConnection redis, RedisRegistryStore store, ReplicationOptions options, TimeProvider clock, ReplicationMetrics metrics, ILogger<LeaseGrace> logger)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _redis = redis;
        _store = store;
        _options = options;
        _clock = clock;
        _metrics = metrics;
        _logger = logger;
    }

    /// <summary>
    /// Every replica in contact touches its entry each revision check interval: one no older than two
    /// intervals (and a second for the touch's own way) says Redis has been answering that replica up to
    /// now, and touches no further apart keep its run of contact unbroken.
    /// </summary>
    private TimeSpan Margin => (2 * _options.RevisionCheckInterval) + TimeSpan.FromSeconds(1);

    /// <summary>Whether an outage's leases are still to be extended.</summary>
    public bool OutagePending
    {
        get
        {
            lock (_lock)
            {
                return _outages != _settled;
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _redis.BecameUnreachable += OnUnavailable;
        _redis.BecameReachable += OnAvailable;
        // Paced by the system clock, not the injected one: Redis judges the touches' spacing by its own
        // clock, so a replica whose injected clock stands still (or runs fast) must still touch each interval.
        _contact = TimeProvider.System.CreateBackgroundTimer(static s => ((LeaseGrace)s!).TouchContact(), this, TimeSpan.Zero, _options.RevisionCheckInterval);
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
        if (OutagePending)
        {
            await ExtendAsync(now, cancellationToken);
        }
    }

    private void OnUnavailable()
    {
        bool first;
        lock (_lock)
        {
            // Counted even while one is pending: an outage that begins as an extension runs is not settled by it.
            first = _outages == _settled;
            _outages++;
        }
        if (first)
        {
            ReplicationLog.StoreLost(_logger);
        }
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
            long outage;
            lock (_lock)
            {
                if (_outages == _settled)
                {
                    return;
                }
                outage = _outages;
            }
            var moved = await _store.ExtendLeasesAsync(now, _options.LeaseGrace, _replicaId, Margin, cancellationToken);
            lock (_lock)
            {
                _settled = Math.Max(_settled, outage);
            }
            if (moved == RedisRegistryStore.OnlyThisReplicaWasCutOff)
            {
                ReplicationLog.OnlyThisReplicaWasCutOff(_logger, Margin.TotalSeconds);
            }
            else
            {
                _metrics.LeasesExtended();
                ReplicationLog.LeasesExtended(_logger, moved);
            }
        }
        finally
        {
            _running.Release();
        }
    }

    /// <summary>
    /// Tells Redis this replica is in contact. Not while an outage is pending: until this replica has
    /// extended the leases (which notes its contact), a touch would tell the others back from the same
    /// outage that Redis was serving it, and none would extend.
    /// </summary>
    private void TouchContact()
    {
        if (_redis.Unreachable || OutagePending)
        {
            return;
        }
        _ = Task.Run(async () =>
        {
            try
            {
                // Noted only when it reaches Redis promptly: one held by a hung Redis and run as it wakes is no contact.
                // The system clock, not the injected one: it is compared with Redis's own.
                await _store.TouchContactAsync(_replicaId, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(2), Margin);
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
