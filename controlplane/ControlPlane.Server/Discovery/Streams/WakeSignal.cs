using System.Threading.Tasks.Sources;

namespace ControlPlane.Server.Discovery.Streams;

/// <summary>
/// The wake-up of a stream's writer: many setters, one waiter, auto-reset; wake-ups that arrive
/// while one is pending merge into it (the writer looks at all pending work when it wakes). A
/// bounded channel did this job at about 600 bytes per stream; at 10,000 idle node streams that is
/// most of what this saves, so it is its own small type. The waiter's continuation never runs on
/// the setter's thread (a setter may be the cache notifying every stream in turn).
/// </summary>
internal sealed class WakeSignal : IValueTaskSource
{
    private readonly Lock _lock = new();
    private ManualResetValueTaskSourceCore<bool> _core = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenRegistration _registration;
    private bool _pending;
    private bool _waiting;

    /// <summary>Wakes the waiter, or the next wait when none is waiting.</summary>
    public void Set()
    {
        lock (_lock)
        {
            if (!_waiting)
            {
                _pending = true;
                return;
            }
            _waiting = false;
            // Unregister, not Dispose: Dispose waits for a running callback, which waits for this lock.
            _registration.Unregister();
            _core.SetResult(true);
        }
    }

    /// <summary>Completes at the next <see cref="Set"/> (at once when one is pending); one waiter at a time.</summary>
    public ValueTask WaitAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_waiting)
            {
                throw new InvalidOperationException("WakeSignal has one waiter at a time.");
            }
            if (_pending)
            {
                _pending = false;
                return ValueTask.CompletedTask;
            }
            if (cancellationToken.IsCancellationRequested)
            {
                return ValueTask.FromCanceled(cancellationToken);
            }
            _core.Reset();
            _waiting = true;
            // A token cancelled meanwhile runs the callback here, on this thread: the lock is re-entrant.
            _registration = cancellationToken.UnsafeRegister(static (state, token) => ((WakeSignal)state!).Cancel(token), this);
            return new ValueTask(this, _core.Version);
        }
    }

    private void Cancel(CancellationToken token)
    {
        lock (_lock)
        {
            if (!_waiting)
            {
                return;
            }
            _waiting = false;
            _core.SetException(new OperationCanceledException(token));
        }
    }

    void IValueTaskSource.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);
}
