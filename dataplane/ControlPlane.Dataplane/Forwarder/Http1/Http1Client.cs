using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Options;

namespace ControlPlane.Dataplane.Forwarder.Http1;

/// <summary>
/// The node's HTTP/1.1 connection pools, one per instance address, shared by all images and
/// snapshots. A timer closes connections past their idle timeout or lifetime and drops pools
/// unused for an idle timeout, so instances that came and went leave nothing behind.
/// </summary>
internal sealed class Http1Client : IDisposable
{
    private readonly ConcurrentDictionary<(string Host, int Port), Http1ConnectionPool> _pools = new();
    private readonly ForwarderOptions _options;
    private readonly TimeProvider _time;
    private readonly ITimer _scavenger;

    public Http1Client(IOptions<ForwarderOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _options = options.Value;
        _time = time;
        var idle = _options.PooledConnectionIdleTimeout;
        // Often enough that a connection outlives its idle timeout by a quarter of it at most.
        var period = idle == Timeout.InfiniteTimeSpan || idle <= TimeSpan.Zero
            ? TimeSpan.FromSeconds(30)
            : TimeSpan.FromTicks(Math.Clamp(idle.Ticks / 4, TimeSpan.TicksPerMillisecond * 100, TimeSpan.TicksPerSecond * 30));
        _scavenger = time.CreateTimer(static s => ((Http1Client)s!).Scavenge(), this, period, period);
    }

    /// <summary>The pool for <paramref name="destination"/>'s address.</summary>
    public Http1ConnectionPool PoolFor(UpstreamDestination destination) =>
        _pools.TryGetValue((destination.Host, destination.Port), out var pool)
            ? pool
            : _pools.GetOrAdd((destination.Host, destination.Port), static (key, self) => new Http1ConnectionPool(new DnsEndPoint(key.Host, key.Port), self._options, self._time), this);

    /// <summary>Open connections across all pools (tests: nothing left behind).</summary>
    public int OpenConnections => _pools.Values.Sum(p => p.OpenConnections);

    private void Scavenge()
    {
        foreach (var (key, pool) in _pools)
        {
            if (pool.Scavenge())
            {
                // A retired pool keeps serving whoever still holds it, but pools nothing.
                _pools.TryRemove(new KeyValuePair<(string, int), Http1ConnectionPool>(key, pool));
            }
        }
    }

    public void Dispose()
    {
        _scavenger.Dispose();
        foreach (var pool in _pools.Values)
        {
            pool.Retire();
        }
    }
}
