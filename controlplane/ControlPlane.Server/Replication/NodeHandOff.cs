using ControlPlane.Server.Discovery.Streams;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;
using ControlPlane.Hosting;

namespace ControlPlane.Server.Replication;

/// <summary>
/// Moves nodes off a replica that has lost its store (<see cref="ReplicationOptions.HandOffNodesAfter"/>):
/// changes made through other replicas reach this one only through the store, so while it is cut
/// off its nodes would keep a configuration that may be stale for as long as the cut lasts. Once the
/// store has been unreachable that long, the streams opened before the outage are ended; streams
/// opened since (nodes that came back, or came from another replica cut off too) are served from
/// memory, and ended in the next round (rounds at doubling intervals up to
/// <see cref="ReplicationOptions.HandOffNodesMaxInterval"/>; each ends every stream open at least
/// <see cref="ReplicationOptions.HandOffNodesAfter"/>): a node is never left for long on a
/// replica that may have fallen behind the others, and a store down for every replica costs each
/// node a few reconnects.
/// </summary>
internal sealed class NodeHandOff : IHostedService, IDisposable
{
    private readonly object _lock = new();
    private readonly RedisConnection _redis;
    private readonly StreamRegistry _streams;
    private readonly ReplicationOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private ITimer? _timer;
    private DateTimeOffset _lostAt;
    private TimeSpan _interval;

    public NodeHandOff(RedisConnection redis, StreamRegistry streams, ReplicationOptions options, TimeProvider clock, ILogger<NodeHandOff> logger)
    {
        _redis = redis;
        _streams = streams;
        _options = options;
        _clock = clock;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.HandOffNodesAfter > TimeSpan.Zero)
        {
            _redis.BecameUnreachable += OnUnreachable;
            _redis.BecameReachable += OnReachable;
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Unsubscribe();
        return Task.CompletedTask;
    }

    private void OnUnreachable()
    {
        lock (_lock)
        {
            _timer?.Dispose();
            _lostAt = _clock.GetUtcNow();
            _interval = _options.HandOffNodesAfter;
            _timer = _clock.CreateBackgroundTimer(static s => ((NodeHandOff)s!).HandOff(), this, _interval, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnReachable()
    {
        lock (_lock)
        {
            _timer?.Dispose();
            _timer = null;
        }
    }

    private void HandOff()
    {
        DateTimeOffset lostAt;
        lock (_lock)
        {
            if (_timer is null || !_redis.Unreachable)
            {
                return;
            }
            lostAt = _lostAt;
            _interval = TimeSpan.FromTicks(Math.Min(_interval.Ticks * 2, _options.HandOffNodesMaxInterval.Ticks));
            _timer.Change(_interval, Timeout.InfiniteTimeSpan);
        }
        // Every stream open at least HandOffNodesAfter: in the first round, those opened before the
        // outage; later, also those opened since, once they had that long on this replica.
        var count = _streams.HandOff(_clock.GetUtcNow() - _options.HandOffNodesAfter,
            $"this control plane has not reached its store since {lostAt:O}; reconnect to another control plane, which may have newer configuration",
            StoreUnavailableInterceptor.Reason);
        ReplicationLog.NodesHandedOff(_logger, (_clock.GetUtcNow() - lostAt).TotalSeconds, count, _interval.TotalSeconds);
    }

    private void Unsubscribe()
    {
        _redis.BecameUnreachable -= OnUnreachable;
        _redis.BecameReachable -= OnReachable;
    }

    public void Dispose()
    {
        Unsubscribe();
        lock (_lock)
        {
            _timer?.Dispose();
        }
    }
}
