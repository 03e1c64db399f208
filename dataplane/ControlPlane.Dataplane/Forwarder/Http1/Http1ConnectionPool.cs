using System.Net;

namespace ControlPlane.Dataplane.Forwarder.Http1;

/// <summary>
/// The HTTP/1.1 connections to one instance (host and port). Idle connections are reused last in,
/// first out, so the few that are busy stay warm and the rest age out after the idle timeout; at
/// most <see cref="ForwarderOptions.MaxConnectionsPerServer"/> are open at once, and requests past
/// that wait, first come first served, for one to come back (or to be closed, freeing a slot).
/// </summary>
internal sealed class Http1ConnectionPool(DnsEndPoint endpoint, ForwarderOptions options, TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly List<Http1Connection> _idle = [];
    private readonly Queue<TaskCompletionSource<Http1Connection?>> _waiters = new();
    private readonly long _idleTimeoutTicks = Ticks(options.PooledConnectionIdleTimeout, time);
    private readonly long _lifetimeTicks = Ticks(options.PooledConnectionLifetime, time);
    private int _open;
    private bool _retired;
    private long _lastUsed = time.GetTimestamp();

    public DnsEndPoint Endpoint { get; } = endpoint;

    /// <summary>Connections open now (idle, busy or connecting).</summary>
    public int OpenConnections
    {
        get
        {
            lock (_lock)
            {
                return _open;
            }
        }
    }

    /// <summary>Connections waiting in the pool now.</summary>
    public int IdleConnections
    {
        get
        {
            lock (_lock)
            {
                return _idle.Count;
            }
        }
    }

    /// <summary>
    /// A connection for one exchange: the most recently parked usable one, unless <paramref name="fresh"/>
    /// asks for a new one (the retry after a reused connection turned out closed); else a new one.
    /// </summary>
    public ValueTask<Http1Connection> RentAsync(bool fresh, CancellationToken cancellationToken)
    {
        List<Http1Connection>? dead = null;
        TaskCompletionSource<Http1Connection?>? waiter = null;
        Http1Connection? found = null;
        var now = time.GetTimestamp();
        lock (_lock)
        {
            _lastUsed = now;
            while (!fresh && _idle.Count > 0)
            {
                var candidate = _idle[^1];
                _idle.RemoveAt(_idle.Count - 1);
                if (candidate.IsUsable(now, _idleTimeoutTicks, _lifetimeTicks))
                {
                    found = candidate;
                    break;
                }
                _open--;
                (dead ??= []).Add(candidate);
            }
            if (found is null)
            {
                if (_open < options.MaxConnectionsPerServer)
                {
                    _open++;
                }
                else
                {
                    waiter = new TaskCompletionSource<Http1Connection?>(TaskCreationOptions.RunContinuationsAsynchronously);
                    _waiters.Enqueue(waiter);
                }
            }
        }
        DisposeAll(dead);
        if (found is not null)
        {
            return ValueTask.FromResult(found);
        }
        return waiter is null ? ConnectAsync(cancellationToken) : WaitAsync(waiter, cancellationToken);
    }

    /// <summary>Takes back a connection whose exchange ended cleanly; it waits for the next one (or goes to a waiting request).</summary>
    public void Return(Http1Connection connection)
    {
        var now = time.GetTimestamp();
        if (_retired || (_lifetimeTicks >= 0 && now - connection.CreatedAt >= _lifetimeTicks))
        {
            Discard(connection);
            return;
        }
        connection.Park(now);
        lock (_lock)
        {
            while (_waiters.TryDequeue(out var waiter))
            {
                if (waiter.TrySetResult(connection))
                {
                    return;
                }
            }
            _idle.Add(connection);
        }
    }

    /// <summary>Closes a connection that must not be reused; a waiting request may open one in its place.</summary>
    public void Discard(Http1Connection connection)
    {
        connection.Dispose();
        Released();
    }

    /// <summary>Closes idle connections past the idle timeout or their lifetime. True when the pool is empty and has not been used for an idle timeout (it may be dropped).</summary>
    public bool Scavenge()
    {
        List<Http1Connection>? dead = null;
        bool unused;
        var now = time.GetTimestamp();
        lock (_lock)
        {
            for (var i = 0; i < _idle.Count;)
            {
                if (_idle[i].IsUsable(now, _idleTimeoutTicks, _lifetimeTicks))
                {
                    i++;
                    continue;
                }
                (dead ??= []).Add(_idle[i]);
                _idle.RemoveAt(i);
                _open--;
            }
            unused = _open == 0 && _waiters.Count == 0 && (_idleTimeoutTicks < 0 || now - _lastUsed >= _idleTimeoutTicks);
            if (unused)
            {
                _retired = true;
            }
        }
        DisposeAll(dead);
        return unused;
    }

    /// <summary>Closes every idle connection (the node is stopping); busy ones close when their exchange ends.</summary>
    public void Retire()
    {
        List<Http1Connection> idle;
        lock (_lock)
        {
            _retired = true;
            idle = [.. _idle];
            _open -= _idle.Count;
            _idle.Clear();
        }
        DisposeAll(idle);
    }

    private async ValueTask<Http1Connection> ConnectAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await Http1Connection.ConnectAsync(Endpoint, options.ConnectTimeout, time.GetTimestamp(), cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Released();
            throw;
        }
    }

    private async ValueTask<Http1Connection> WaitAsync(TaskCompletionSource<Http1Connection?> waiter, CancellationToken cancellationToken)
    {
        Http1Connection? handed;
        using (cancellationToken.UnsafeRegister(static s => ((TaskCompletionSource<Http1Connection?>)s!).TrySetCanceled(), waiter))
        {
            handed = await waiter.Task.ConfigureAwait(false);
        }
        // Null: a connection was closed, and its slot is this request's now.
        return handed ?? await ConnectAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A connection is gone: its slot goes to the first request still waiting, else back to the count.</summary>
    private void Released()
    {
        lock (_lock)
        {
            while (_waiters.TryDequeue(out var waiter))
            {
                if (waiter.TrySetResult(null))
                {
                    return;
                }
            }
            _open--;
        }
    }

    private static void DisposeAll(List<Http1Connection>? connections)
    {
        if (connections is null)
        {
            return;
        }
        foreach (var connection in connections)
        {
            connection.Dispose();
        }
    }

    private static long Ticks(TimeSpan span, TimeProvider time) =>
        span == Timeout.InfiniteTimeSpan || span < TimeSpan.Zero ? -1 : (long)(span.TotalSeconds * time.TimestampFrequency);
}
