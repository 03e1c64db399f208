using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;
using ControlPlane.Hosting;

namespace ControlPlane.Server.Registry;

/// <summary>
/// Expires instances at their deadline, not on the next poll: one timer is armed for the earliest
/// lease deadline (or retention end), re-armed after each pass and whenever a registration brings
/// an earlier deadline, and at least every <see cref="RegistryOptions.MaxPassInterval"/> (replicas
/// sharing a store learn of each other's deadlines only from a pass). Each pass asks
/// <see cref="SelfPreservation"/> (on the store's numbers) and the <see cref="IExpiryGate"/>, if any,
/// before expiring anything. Passes never overlap; a wake-up during a pass runs another one after it.
/// </summary>
public sealed class ExpiryScheduler : IHostedService, IDisposable
{
    private const int ScanLimit = 100_000;
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(1);

    private readonly IRegistryStore _store;
    private readonly RegistryOptions _options;
    private readonly TimeProvider _clock;
    private readonly RegistryMetrics _metrics;
    private readonly ILogger _logger;
    private readonly SelfPreservation _selfPreservation;
    private readonly object _lock = new();
    private ITimer? _timer;
    private DateTimeOffset? _armedFor;
    private int _running;
    private int _rerun;

    private readonly ResourceChanges _changes;

    private readonly IExpiryGate? _gate;

    public ExpiryScheduler(
        IRegistryStore store, RegistryOptions options, TimeProvider clock, RegistryMetrics metrics, ResourceChanges changes, ILogger<ExpiryScheduler> logger, IExpiryGate? gate = null)
    {
        _gate = gate;
        ArgumentNullException.ThrowIfNull(changes);
        _changes = changes;
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _options = options;
        _clock = clock;
        _metrics = metrics;
        _logger = logger;
        _selfPreservation = new SelfPreservation(options.SelfPreservation);
    }

    private long _passes;

    /// <summary>Passes completed (diagnostics; tests wait on it).</summary>
    public long Passes => Interlocked.Read(ref _passes);

    /// <summary>True while self-preservation holds expiry.</summary>
    public bool SelfPreservationEngaged => Volatile.Read(ref _engaged) == 1;

    private int _engaged;

    /// <summary>Completes after the first pass: the registry is warm.</summary>
    public Task Warm => _warm.Task;

    private readonly TaskCompletionSource _warm = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _timer ??= _clock.CreateBackgroundTimer(static s => _ = ((ExpiryScheduler)s!).RunAsync(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
        return RunAsync();
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    /// <summary>A lease now ends at <paramref name="deadline"/>: wake up then if that is earlier than planned.</summary>
    public void Notify(DateTimeOffset deadline)
    {
        lock (_lock)
        {
            if (_armedFor is null || deadline < _armedFor)
            {
                Arm(deadline);
            }
        }
    }

    /// <summary>Runs a pass now (and another one after it if woken meanwhile).</summary>
    public async Task RunAsync()
    {
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            Volatile.Write(ref _rerun, 1);
            return;
        }
        try
        {
            do
            {
                Volatile.Write(ref _rerun, 0);
                await PassAsync().ConfigureAwait(false);
                Interlocked.Increment(ref _passes);
            }
            while (Volatile.Read(ref _rerun) == 1);
            _warm.TrySetResult();
        }
        catch (Exception ex)
        {
            RegistryLog.ExpiryFailed(_logger, ex, RetryAfterFailure);
            Notify(_clock.GetUtcNow() + RetryAfterFailure);
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    private async Task PassAsync()
    {
        lock (_lock)
        {
            _armedFor = null;
        }
        var now = _clock.GetUtcNow();
        var scan = await _store.ScanExpiryAsync(now, _options.ExpiredRetention, ScanLimit, _options.SelfPreservation.Window).ConfigureAwait(false);
        var allow = _selfPreservation.AllowExpiry(scan.Overdue.Count, scan.LiveCount, scan.RecentlyExpired, out var changed);
        if (changed)
        {
            Volatile.Write(ref _engaged, allow ? 0 : 1);
            _metrics.SelfPreservation(!allow);
            if (allow)
            {
                RegistryLog.SelfPreservationReleased(_logger, scan.Overdue.Count, scan.LiveCount);
            }
            else
            {
                var sp = _options.SelfPreservation;
                RegistryLog.SelfPreservationEngaged(_logger, scan.Overdue.Count, scan.LiveCount, _selfPreservation.LastShare, sp.Window, sp.Threshold);
            }
        }

        DateTimeOffset? next = scan.NextDeadline;
        if (allow && scan.Overdue.Count > 0)
        {
            if (_gate is not null)
            {
                // After a store outage, leases are extended before anything expires (see IExpiryGate).
                // ExpireAsync checks each deadline again, so an extended lease is not expired.
                await _gate.BeforeExpiryAsync(now).ConfigureAwait(false);
            }
            // Only the instances this call expired come back: with replicas racing on one store, each
            // expiry is logged and counted by exactly one of them.
            var expired = await _store.ExpireAsync(scan.Overdue, now).ConfigureAwait(false);
            _metrics.Expired(expired.Count);
            foreach (var record in expired)
            {
                RegistryLog.Expired(_logger, record.InstanceId, record.Spec.Name, record.LastHeartbeatAt);
            }
            foreach (var image in expired.GroupBy(r => r.Spec.Image, StringComparer.Ordinal))
            {
                _changes.EndpointsChanged(image.Key, image.Select(r => r.InstanceId).ToList());
            }
            if (expired.Count > 0)
            {
                next = Earliest(next, now + _options.ExpiredRetention);
            }
        }
        else if (!allow)
        {
            next = Earliest(next, now + _options.SelfPreservation.RecheckInterval);
        }

        var removed = await _store.RemoveExpiredAsync(now, _options.ExpiredRetention).ConfigureAwait(false);
        if (removed.Count > 0)
        {
            _metrics.Removed(removed.Count, "retention");
            RegistryLog.Removed(_logger, removed.Count, _options.ExpiredRetention);
        }
        // An image keeps its endpoint set (with no endpoints) while expired records are retained; the
        // removal of its last one removes the set, so it changes what nodes are sent.
        foreach (var image in removed.GroupBy(r => r.Spec.Image, StringComparer.Ordinal))
        {
            _changes.EndpointsChanged(image.Key, image.Select(r => r.InstanceId).ToList());
        }
        _metrics.UpdateCounts(await _store.CountAsync().ConfigureAwait(false));

        Notify(Earliest(next, now + _options.MaxPassInterval)!.Value);
    }

    private static DateTimeOffset? Earliest(DateTimeOffset? a, DateTimeOffset b) => a is null || b < a ? b : a;

    private void Arm(DateTimeOffset due)
    {
        if (_timer is null)
        {
            return;
        }
        _armedFor = due;
        var delay = due - _clock.GetUtcNow();
        _timer.Change(delay < TimeSpan.Zero ? TimeSpan.Zero : delay, Timeout.InfiniteTimeSpan);
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _timer?.Dispose();
            _timer = null;
            _armedFor = null;
        }
    }
}
