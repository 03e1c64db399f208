using System.Threading.Channels;
using ControlPlane.Api.V1;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Dataplane.Discovery;

/// <summary>
/// Keeps the last-known-good file (<see cref="LastKnownGoodStore"/>) up to date from a task of its
/// own, so the discovery stream's reader only records what changed and ACKs at once: at 100,000
/// images the file is about 16 MB and a write (fsync included) takes 170-300 ms, which every config
/// change used to add to the node's ACK. Writes coalesce: each one saves the newest state, so any
/// number of changes during a write lead to one more write, and after a write of the resources the
/// next waits <see cref="WriteShare"/> times as long as it took, at most
/// <see cref="DiscoveryOptions.LastKnownGoodWriteInterval"/>: a small file is on disk a few
/// milliseconds after each change, while a burst of changes to a large one fsyncs it at most once per
/// interval and never keeps the disk busy more than a fifth of the time. A write of the store
/// position alone is small and does not wait. A failed write is counted and retried after the
/// interval, longer after each failure in a row (a full disk is not retried in a loop). Stopping
/// writes what is pending at once (<see cref="StopAsync"/>).
/// </summary>
internal sealed class LastKnownGoodWriter : IDisposable
{
    /// <summary>How long stopping waits for the pending write: the largest file measured took 300 ms.</summary>
    public static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(10);

    /// <summary>After a write of the resources, the next waits this many times as long as it took (capped by the interval).</summary>
    public const int WriteShare = 4;

    private static readonly TimeSpan MinRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetryDelay = TimeSpan.FromMinutes(1);

    private readonly LastKnownGoodStore _store;
    private readonly Func<IReadOnlyList<Resource>?> _published;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    // Capacity one, further signals dropped: however many changes come while a write runs, the
    // writer wakes once more and saves the newest state.
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1)
    {
        FullMode = BoundedChannelFullMode.DropWrite,
        SingleReader = true,
    });
    private readonly CancellationTokenSource _flush = new();
    private readonly Task _loop;

    // What is to be written and what the file holds, under _lock: changes are counted, so a change
    // that comes while a write runs is never taken for written.
    private readonly Lock _lock = new();
    private long _changes;
    private long _changesOnDisk = -1;
    private string _position = "";
    private string? _positionOnDisk;

    // The writer's own (only its task uses them).
    private long _notBefore;
    private int _failedInARow;

    private long _failures;
    private long _writtenAt;

    /// <param name="published">What is published (<see cref="DiscoveryState.PublishedResources"/>): null while the initial fetch holds a partial set, which is never written.</param>
    public LastKnownGoodWriter(LastKnownGoodStore store, Func<IReadOnlyList<Resource>?> published, TimeSpan interval, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(published);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _published = published;
        _interval = interval;
        _time = time;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>Writes (of the resources or the position alone) that failed since start.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>When the last write (of the resources or the position alone) succeeded; null when none did since start.</summary>
    public DateTimeOffset? WrittenAt => Volatile.Read(ref _writtenAt) is var ticks and > 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    /// <summary>
    /// What is published changed: the resources are to be written, with <paramref name="position"/>
    /// (null: the position held so far, e.g. when the initial fetch timed out). Called after the
    /// change is applied, so the resources the writer reads are at least as new as the position.
    /// </summary>
    public void ResourcesChanged(string? position = null) => Record(position, changed: true);

    /// <summary>
    /// A response changed nothing published: only a position that moved on is written (or the
    /// resources, when their last write failed).
    /// </summary>
    public void SameResources(string position) => Record(position, changed: false);

    /// <summary>
    /// Marks the file as holding what is served (it was loaded from it, with <paramref name="position"/>),
    /// unless something changed after <paramref name="changesBefore"/> (<see cref="Changes"/> read
    /// before the load): a change that came meanwhile is still written.
    /// </summary>
    public void Loaded(long changesBefore, string position)
    {
        lock (_lock)
        {
            if (_changesOnDisk < changesBefore)
            {
                _changesOnDisk = changesBefore;
                _positionOnDisk = position;
            }
        }
    }

    /// <summary>
    /// Whether something recorded is not on disk yet: a change or a position (a write is due, under
    /// way, or failed), or nothing was written since start. A change that comes while a write reads
    /// the resources may be in that write and still be written once more: this turns false only
    /// once every recorded change has been counted as written.
    /// </summary>
    public bool Pending
    {
        get
        {
            lock (_lock)
            {
                return Unwritten;
            }
        }
    }

    /// <summary>What <see cref="Pending"/> says, under <see cref="_lock"/>.</summary>
    private bool Unwritten => _changes != _changesOnDisk || _position != _positionOnDisk;

    /// <summary>Changes recorded so far (for <see cref="Loaded"/>).</summary>
    public long Changes
    {
        get
        {
            lock (_lock)
            {
                return _changes;
            }
        }
    }

    /// <summary>
    /// Writes what is pending now, without waiting out the interval, and stops the writer; waits for
    /// it at most <see cref="FlushTimeout"/> (wall-clock, like the host's own shutdown timeout: never a
    /// clock that only moves when a test advances it) or until <paramref name="cancellationToken"/>.
    /// Changes recorded afterwards are not written.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _wake.Writer.TryComplete();
        await _flush.CancelAsync().ConfigureAwait(false);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(FlushTimeout);
        try
        {
            await _loop.WaitAsync(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            DiscoveryLog.StoppedBeforeWrite(_logger, _store.Path, FlushTimeout);
        }
    }

    private void Record(string? position, bool changed)
    {
        lock (_lock)
        {
            if (changed)
            {
                _changes++;
            }
            if (position is not null)
            {
                _position = position;
            }
        }
        _wake.Writer.TryWrite(true);
    }

    private async Task RunAsync()
    {
        while (await _wake.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            _wake.Reader.TryRead(out _);
            await WaitAsync().ConfigureAwait(false);
            if (!Write())
            {
                _wake.Writer.TryWrite(true); // retried after the delay; dropped when stopping
            }
        }
    }

    /// <summary>Waits until the next write may start, or stopping asks for it at once.</summary>
    private async Task WaitAsync()
    {
        while (Wait() is var wait && wait > TimeSpan.Zero && !_flush.IsCancellationRequested)
        {
            using var timer = CancellationTokenSource.CreateLinkedTokenSource(_flush.Token);
            var delay = Task.Delay(wait, _time, timer.Token);
            if (Wait() <= TimeSpan.Zero)
            {
                // The clock passed the time while the timer was being set (only a test's clock jumps so).
                await timer.CancelAsync().ConfigureAwait(false);
            }
            // Cancelled: stopping (what is pending is written now), or the time has come. Yielding:
            // the write never runs on the thread that fired the timer (a test's, advancing its clock).
            await delay.ConfigureAwait(ConfigureAwaitOptions.ForceYielding | ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>How long before the next write may start: a write of the resources waits out the interval, any write the delay after a failure.</summary>
    private TimeSpan Wait()
    {
        bool resourcesToo;
        lock (_lock)
        {
            resourcesToo = _changes != _changesOnDisk;
        }
        if (!resourcesToo && _failedInARow == 0)
        {
            return TimeSpan.Zero;
        }
        var remaining = _notBefore - _time.GetTimestamp();
        return remaining > 0 ? TimeSpan.FromSeconds((double)remaining / _time.TimestampFrequency) : TimeSpan.Zero;
    }

    /// <summary>Writes the newest state, if anything of it is not on disk; false when the write failed.</summary>
    private bool Write()
    {
        long changes;
        string position;
        bool resourcesToo;
        lock (_lock)
        {
            // The position and the change count together, then the resources: they are applied
            // before their position is recorded, so the position on disk is never newer than the
            // resources on disk, and a change that comes after this point is written next time.
            changes = _changes;
            position = _position;
            resourcesToo = changes != _changesOnDisk;
            if (!Unwritten)
            {
                return true;
            }
        }
        if (_published() is not { } resources)
        {
            return true; // held by the initial fetch: a partial set must not be served after a restart either
        }
        var started = _time.GetTimestamp();
        try
        {
            if (resourcesToo)
            {
                _store.Save(resources, position);
            }
            else
            {
                _store.SavePosition(position);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            _failedInARow++;
            var delay = RetryDelay();
            _notBefore = After(delay); // before the failure shows, so a test that saw it can move its clock past the delay
            Interlocked.Increment(ref _failures);
            DiscoveryLog.PersistFailed(_logger, _store.Path, delay, ex);
            return false;
        }
        lock (_lock)
        {
            if (resourcesToo)
            {
                _changesOnDisk = changes;
            }
            _positionOnDisk = position;
        }
        _failedInARow = 0;
        if (resourcesToo)
        {
            var took = _time.GetElapsedTime(started);
            _notBefore = After(took * WriteShare < _interval ? took * WriteShare : _interval);
        }
        Volatile.Write(ref _writtenAt, _time.GetUtcNow().UtcTicks);
        return true;
    }

    /// <summary>The interval (at least 1 s, so a write that fails at once is not retried in a loop), doubled for each further failure in a row, up to 1 min (or the interval, when longer).</summary>
    private TimeSpan RetryDelay()
    {
        var delay = _interval > MinRetryDelay ? _interval : MinRetryDelay;
        var limit = delay > MaxRetryDelay ? delay : MaxRetryDelay;
        for (var i = 1; i < _failedInARow && delay < limit; i++)
        {
            delay *= 2;
        }
        return delay < limit ? delay : limit;
    }

    private long After(TimeSpan delay) => _time.GetTimestamp() + (long)(delay.TotalSeconds * _time.TimestampFrequency);

    /// <summary>Stops the writer, waiting a bounded time for a pending write, when <see cref="StopAsync"/> was not called.</summary>
    public void Dispose()
    {
        if (!_loop.IsCompleted)
        {
            _wake.Writer.TryComplete();
            _flush.Cancel();
            if (!_loop.Wait(FlushTimeout))
            {
                DiscoveryLog.StoppedBeforeWrite(_logger, _store.Path, FlushTimeout);
                return; // the loop still uses the token source
            }
        }
        _flush.Dispose();
    }
}
