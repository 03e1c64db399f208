using System.Threading.Channels;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;
using ControlPlane.Hosting;

namespace ControlPlane.Server.Replication;

/// <summary>
/// Keeps this replica's discovery cache in step with changes made through any replica. Change
/// messages are relayed to <see cref="ResourceChanges"/> in revision order; the last revision
/// relayed is remembered, and whenever the next message is not the next revision (a lost message),
/// the connection to the store came back, or the periodic revision check finds the store ahead,
/// the missed changes are read from the change log. When the log no longer reaches back that far,
/// the store started afresh (another epoch) or its server restarted (it may have lost revisions),
/// every resource is reloaded instead. A catch-up that fails (store unreachable) is retried by the
/// next check; meanwhile the lag metric shows how far behind the replica is.
/// </summary>
internal sealed class ChangeFollower : IHostedService, IStorePositionSource, IDisposable
{
    private readonly object _lock = new();
    private readonly Channel<bool> _catchUp = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly IChangeFeed _feed;
    private readonly ResourceChanges _changes;
    private readonly ReplicationOptions _options;
    private readonly TimeProvider _clock;
    private readonly ReplicationMetrics _metrics;
    private readonly ILogger _logger;
    private ITimer? _check;
    private IDisposable? _subscription;
    private Task? _worker;

    // Under _lock. -1: not in step yet (the first read reloads everything).
    private long _applied = -1;
    private long _storeRevision;
    private string? _epoch;
    private string? _serverId;

    public ChangeFollower(IChangeFeed feed, ResourceChanges changes, ReplicationOptions options, TimeProvider clock, ReplicationMetrics metrics, ILogger<ChangeFollower> logger)
    {
        ArgumentNullException.ThrowIfNull(feed);
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _feed = feed;
        _changes = changes;
        _options = options;
        _clock = clock;
        _metrics = metrics;
        _logger = logger;
        metrics.Follower = this;
    }

    /// <summary>The last revision whose change was handed to the cache; -1 before the first read of the store.</summary>
    public long AppliedRevision
    {
        get
        {
            lock (_lock)
            {
                return _applied;
            }
        }
    }

    public StorePosition? Relayed
    {
        get
        {
            lock (_lock)
            {
                // Under the lock that relays changes: a change up to _applied, or a reset to it, was signalled.
                return _applied < 0 || _epoch is null ? null : new StorePosition(_epoch, _applied);
            }
        }
    }

    public StorePosition? Latest
    {
        get
        {
            lock (_lock)
            {
                return _applied < 0 || _epoch is null ? null : new StorePosition(_epoch, Math.Max(_storeRevision, _applied));
            }
        }
    }

    /// <summary>Revisions the store was ahead of this replica at the last look (messages in flight, or a catch-up pending).</summary>
    public long Lag
    {
        get
        {
            lock (_lock)
            {
                return _applied < 0 ? _storeRevision : Math.Max(0, _storeRevision - _applied);
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription = _feed.Subscribe(OnMessage, RequestCatchUp);
        _worker = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        _check = _clock.CreateBackgroundTimer(static s => ((ChangeFollower)s!).RequestCatchUp(), this, _options.RevisionCheckInterval, _options.RevisionCheckInterval);
        RequestCatchUp();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _check?.Dispose();
        _subscription?.Dispose();
        await _stopping.CancelAsync();
        if (_worker is not null)
        {
            try
            {
                await _worker.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    public ValueTask<StorePosition?> ReadStoreAsync(CancellationToken cancellationToken) => _feed.ReadPositionAsync(cancellationToken);

    /// <summary>Asks for a catch-up (coalesced: one runs at a time, one more may be pending).</summary>
    public void RequestCatchUp() => _catchUp.Writer.TryWrite(true);

    private void OnMessage(StoreChange change)
    {
        bool gap = false, unsynced = false;
        lock (_lock)
        {
            _storeRevision = Math.Max(_storeRevision, change.Revision);
            if (_applied < 0)
            {
                unsynced = true; // the first read of the store covers it
            }
            else if (change.Revision > _applied + 1)
            {
                gap = true; // a message was lost before this one: the log has both
            }
            else if (change.Revision == _applied + 1)
            {
                Apply(change);
            }
            // Older: covered already by a catch-up.
        }
        if (gap)
        {
            _metrics.Gap();
        }
        if (gap || unsynced)
        {
            RequestCatchUp();
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (await _catchUp.Reader.WaitToReadAsync(cancellationToken))
        {
            _catchUp.Reader.TryRead(out _);
            try
            {
                await CatchUpAsync(cancellationToken);
            }
            catch (StoreUnavailableException ex)
            {
                ReplicationLog.CatchUpFailed(_logger, ex.Message);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                ReplicationLog.CatchUpError(_logger, ex);
            }
        }
    }

    private async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            long after;
            lock (_lock)
            {
                after = Math.Max(_applied, 0);
            }
            var read = await _feed.ReadSinceAsync(after, _options.CatchUpBatch, cancellationToken);
            int applied;
            long from;
            lock (_lock)
            {
                from = _applied;
                if (Lost(read, after) is { } why)
                {
                    _storeRevision = read.Current;
                    Reset(read, why);
                    return;
                }
                // Messages applied while the read was on its way may be newer than it: never go back.
                _storeRevision = Math.Max(_storeRevision, read.Current);
                applied = 0;
                foreach (var change in read.Changes)
                {
                    if (change.Revision == _applied + 1)
                    {
                        Apply(change);
                        applied++;
                    }
                    else if (change.Revision > _applied + 1)
                    {
                        // A hole inside the log itself (a partially lost write): nothing says what it was.
                        Reset(read, "the change log skips a revision");
                        return;
                    }
                }
            }
            if (applied > 0)
            {
                _metrics.CaughtUp("log");
                ReplicationLog.CaughtUp(_logger, applied, from + 1, from + applied);
            }
            if (read.Changes.Count < _options.CatchUpBatch)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Under the lock: why the log cannot bring this replica up to date, or null when it can.
    /// <paramref name="asked"/> is the revision applied when the read was sent: messages (on their own
    /// connection) may have been applied while its answer was on the way, so a read older than what
    /// is applied now is no sign of a store that went back; only one older than what was asked for is.
    /// </summary>
    private string? Lost(ChangeLogRead read, long asked)
    {
        if (_applied < 0)
        {
            return "";
        }
        if (read.Epoch != _epoch)
        {
            return "the store started afresh";
        }
        if (read.ServerId != _serverId)
        {
            return "the store's server restarted";
        }
        if (read.Current < asked)
        {
            return "the store's revision went back";
        }
        if (read.Current > _applied && (read.Oldest is not { } oldest || oldest > _applied + 1))
        {
            return "the change log no longer reaches back to the last applied revision";
        }
        return null;
    }

    /// <summary>Under the lock: in step at the store's current revision, every resource to be reloaded.</summary>
    private void Reset(ChangeLogRead read, string why)
    {
        var first = _applied < 0;
        if (first)
        {
            ReplicationLog.Synced(_logger, read.Current, read.Epoch);
        }
        else
        {
            ReplicationLog.Resync(_logger, why, _applied, read.Current);
            _metrics.CaughtUp("reload");
        }
        _epoch = read.Epoch;
        _serverId = read.ServerId;
        _applied = read.Current;
        // Signalled after the revision was read: the reload reads a state at least that new.
        _changes.EverythingMayHaveChanged();
    }

    /// <summary>Under the lock: relays one change, in revision order.</summary>
    private void Apply(StoreChange change)
    {
        switch (change.Kind)
        {
            case StoreChange.Endpoints:
                _changes.EndpointsChanged(change.Name, change.InstanceIds);
                break;
            case StoreChange.Policy:
                _changes.PolicyChanged(change.Name);
                break;
            default:
                // Nothing nodes are sent changed, but the position moved past it.
                _changes.Passed();
                break;
        }
        _applied = change.Revision;
    }

    public void Dispose()
    {
        _check?.Dispose();
        _subscription?.Dispose();
        _stopping.Dispose();
    }
}
