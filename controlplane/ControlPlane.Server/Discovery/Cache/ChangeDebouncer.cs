using ControlPlane.Hosting;

namespace ControlPlane.Server.Discovery.Cache;

/// <summary>
/// Collects change signals and says when to apply them (Istio's push debounce): the first change
/// after a quiet window is ready at once; a change that follows another within the window waits
/// until the window passes with no further change, but never longer than the maximum delay after
/// the first waiting change. Thread-safe; <c>ready</c> is called outside the lock and must not block.
/// </summary>
internal sealed class ChangeDebouncer : IDisposable
{
    private readonly object _lock = new();
    private readonly TimeProvider _clock;
    private readonly TimeSpan _window;
    private readonly TimeSpan _maxDelay;
    private readonly Action _ready;
    private readonly ITimer _timer;
    private HashSet<ResourceKey> _pending = [];
    private DateTimeOffset _lastChangeAt = DateTimeOffset.MinValue;
    private DateTimeOffset _firstPendingAt;
    private long _firstPendingTimestamp;
    private bool _timerArmed;

    public ChangeDebouncer(TimeProvider clock, TimeSpan window, TimeSpan maxDelay, Action ready)
    {
        _clock = clock;
        _window = window < TimeSpan.Zero ? TimeSpan.Zero : window;
        _maxDelay = maxDelay < _window ? _window : maxDelay;
        _ready = ready;
        _timer = clock.CreateBackgroundTimer(static s => ((ChangeDebouncer)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Changes signalled and not yet taken.</summary>
    public int PendingCount
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    public void Add(ResourceKey key)
    {
        bool readyNow;
        lock (_lock)
        {
            var now = _clock.GetUtcNow();
            var quiet = !_timerArmed && now - _lastChangeAt >= _window;
            _lastChangeAt = now;
            Remember(key, now);
            readyNow = quiet;
            if (!quiet)
            {
                Arm(Min(now + _window, _firstPendingAt + _maxDelay), now);
            }
        }
        if (readyNow)
        {
            _ready();
        }
    }

    /// <summary>Puts back changes that could not be applied, to be tried again after <paramref name="delay"/>.</summary>
    public void Retry(IEnumerable<ResourceKey> keys, TimeSpan delay)
    {
        lock (_lock)
        {
            var now = _clock.GetUtcNow();
            foreach (var key in keys)
            {
                Remember(key, now);
            }
            Arm(now + delay, now);
        }
    }

    /// <summary>Takes every waiting change, and when the first of them was signalled; null when none waits.</summary>
    public (IReadOnlyCollection<ResourceKey> Keys, long ObservedTimestamp)? Take()
    {
        lock (_lock)
        {
            if (_pending.Count == 0)
            {
                return null;
            }
            var keys = _pending;
            _pending = [];
            if (_timerArmed)
            {
                _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
                _timerArmed = false;
            }
            return (keys, _firstPendingTimestamp);
        }
    }

    private void Remember(ResourceKey key, DateTimeOffset now)
    {
        if (_pending.Count == 0)
        {
            _firstPendingAt = now;
            _firstPendingTimestamp = _clock.GetTimestamp();
        }
        _pending.Add(key);
    }

    private void Arm(DateTimeOffset due, DateTimeOffset now)
    {
        _timer.Change(due > now ? due - now : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        _timerArmed = true;
    }

    private void OnTimer()
    {
        lock (_lock)
        {
            _timerArmed = false;
        }
        _ready();
    }

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    public void Dispose() => _timer.Dispose();
}
