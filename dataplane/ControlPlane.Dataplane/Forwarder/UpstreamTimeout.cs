namespace ControlPlane.Dataplane.Forwarder;

/// <summary>
/// The cancellation of one upstream exchange: the client going away, or the instance keeping the
/// exchange waiting longer than <see cref="ForwarderOptions.EffectiveActivityTimeout"/>. The clock runs only
/// while the node waits on the instance (for a connection, to take the request body, for the
/// response head, for the next bytes of the response body) and starts over at every step forward;
/// it stands still while the node waits on the client (for the next piece of the request body, for
/// room in the client's response), whose pace is Kestrel's to judge (408 below the minimum data
/// rate). So when it runs out, the silence was the instance's. Disposing it gives it back to
/// <see cref="UpstreamCancellation"/>.
/// </summary>
internal sealed class UpstreamTimeout : IDisposable
{
    private readonly UpstreamCancellation _owner;
    private readonly Lock _lock = new();
    private CancellationTokenSource _source;
    private CancellationTokenRegistration _link;
    private TimeSpan _timeout;
    private int _clientWaits;
    private bool _stopped;
    private bool _deadline;

    internal UpstreamTimeout(UpstreamCancellation owner, TimeProvider time)
    {
        _owner = owner;
        _source = NewSource(time);
    }

    public CancellationToken Token => _source.Token;

    /// <summary>The client went away or the instance was silent too long (the client's own token tells which).</summary>
    public bool IsCancellationRequested => _source.IsCancellationRequested;

    /// <summary>False for gRPC calls: their deadline governs.</summary>
    private bool Timed => _timeout != Timeout.InfiniteTimeSpan;

    internal void Start(CancellationToken aborted, TimeSpan timeout)
    {
        _timeout = timeout;
        _clientWaits = 0;
        _stopped = false;
        _deadline = false;
        _link = aborted.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), _source);
        if (Timed)
        {
            _source.CancelAfter(timeout);
        }
    }

    /// <summary>
    /// A gRPC call's deadline (its <c>grpc-timeout</c>): the exchange is cancelled once it passes,
    /// however the instance keeps it busy. Only for exchanges without the activity clock (gRPC).
    /// </summary>
    public void SetDeadline(TimeSpan deadline)
    {
        if (Timed)
        {
            return;
        }
        lock (_lock)
        {
            _deadline = true;
            _source.CancelAfter(deadline);
        }
    }

    /// <summary>
    /// The instance answered (its response head arrived): the deadline is the caller's to keep from
    /// here, as a stream may rightly run until it; the node no longer ends the exchange for it.
    /// </summary>
    public void ClearDeadline()
    {
        lock (_lock)
        {
            if (_deadline && !_source.IsCancellationRequested)
            {
                _deadline = false;
                _source.CancelAfter(Timeout.InfiniteTimeSpan);
            }
        }
    }

    /// <summary>The instance took or sent something: its clock starts over (unless the node is waiting on the client meanwhile).</summary>
    public void Restart()
    {
        if (!Timed)
        {
            return;
        }
        lock (_lock)
        {
            if (!_stopped && _clientWaits == 0)
            {
                _source.CancelAfter(_timeout);
            }
        }
    }

    /// <summary>Awaits <paramref name="pending"/>, a wait on the client (a read of its body, a flush to it), with the clock stopped; it starts over after.</summary>
    public ValueTask<T> OnClientAsync<T>(ValueTask<T> pending)
    {
        return pending.IsCompleted || !Timed ? pending : AwaitAsync(pending);

        async ValueTask<T> AwaitAsync(ValueTask<T> wait)
        {
            lock (_lock)
            {
                if (_clientWaits++ == 0 && !_stopped)
                {
                    _source.CancelAfter(Timeout.InfiniteTimeSpan);
                }
            }
            try
            {
                return await wait;
            }
            finally
            {
                lock (_lock)
                {
                    if (--_clientWaits == 0 && !_stopped)
                    {
                        _source.CancelAfter(_timeout);
                    }
                }
            }
        }
    }

    /// <summary>The instance's part is over (its response read to the end, or failed): only the client's going away cancels now.</summary>
    public void Stop()
    {
        if (!Timed && !_deadline)
        {
            return;
        }
        lock (_lock)
        {
            _stopped = true;
            _source.CancelAfter(Timeout.InfiniteTimeSpan);
        }
    }

    public void Dispose() => _owner.Return(this);

    /// <summary>Makes it ready for the next exchange; false (and its source released) when its source fired.</summary>
    internal bool TryReset()
    {
        // Disposing the link waits for a Cancel running on another thread, so none can reach the next user.
        _link.Dispose();
        _link = default;
        if (_source.TryReset())
        {
            return true;
        }
        Discard();
        return false;
    }

    internal void Discard() => _source.Dispose();

    /// <summary>Timed by <paramref name="time"/> (the node's clock), so tests can move it.</summary>
    private static CancellationTokenSource NewSource(TimeProvider time) => new(Timeout.InfiniteTimeSpan, time);
}
