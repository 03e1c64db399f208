using ControlPlane.Server.Discovery.Streams;
using ControlPlane.Server.Storage;
using ControlPlane.Server.Storage.Redis;

namespace ControlPlane.Server.Replication;

/// <summary>
/// Moves nodes off a replica that has lost its store (<see cref="ReplicationOptions.HandOffNodesAfter"/>):
/// changes made through other replicas reach this one only through the store, so while it is cut
/// off its nodes would keep a configuration that may be stale for as long as the cut lasts. Once the
/// store has been unreachable that long, the streams opened before the outage are ended once; streams
/// opened since (nodes that came back, or came from another replica cut off too) are served from
/// memory as before, so a store down for every replica costs each node one reconnect.
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
            _timer = _clock.CreateTimer(static s => ((NodeHandOff)s!).HandOff(), this, _options.HandOffNodesAfter, Timeout.InfiniteTimeSpan);
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
        }
        var count = _streams.HandOff(lostAt,
            $"this control plane has not reached its store since {lostAt:O}; reconnect to another control plane, which may have newer configuration",
            StoreUnavailableInterceptor.Reason);
        ReplicationLog.NodesHandedOff(_logger, (_clock.GetUtcNow() - lostAt).TotalSeconds, count);
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
