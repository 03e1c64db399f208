using System.Collections.Concurrent;
using ControlPlane.Server.Discovery.Status;
using ControlPlane.Server.Storage;
using ControlPlane.Hosting;

namespace ControlPlane.Server.Fleet;

/// <summary>
/// Publishes this replica's nodes to the shared <see cref="IFleetStore"/>, so that every replica
/// lists the whole fleet: a node whose streams changed (opened, answered, was sent something,
/// closed) is written at the next tick of <see cref="FleetOptions.PublishInterval"/>, at most once
/// per tick however busy it is; every node it serves is rewritten each
/// <see cref="FleetOptions.RefreshInterval"/>, which keeps its entry alive and tells readers this
/// replica is still there. Writes that fail (store unreachable) are retried at the next tick.
/// </summary>
internal sealed class FleetPublisher : IHostedService, IDisposable
{
    private readonly ConcurrentDictionary<string, byte> _dirty = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly IDataplaneStreams _streams;
    private readonly FleetView _view;
    private readonly IFleetStore _store;
    private readonly FleetOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private ITimer? _timer;
    private DateTimeOffset _nextRefresh;

    public FleetPublisher(IDataplaneStreams streams, FleetView view, IFleetStore store, FleetOptions options, TimeProvider clock, ILogger<FleetPublisher> logger)
    {
        ArgumentNullException.ThrowIfNull(streams);
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(logger);
        _streams = streams;
        _view = view;
        _store = store;
        _options = options;
        _clock = clock;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _streams.Changed += OnChanged;
        _timer = _clock.CreateBackgroundTimer(static s => _ = ((FleetPublisher)s!).FlushAsync(), this, _options.PublishInterval, _options.PublishInterval);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _streams.Changed -= OnChanged;
        _timer?.Dispose();
        // The last word on this replica's nodes (their streams closed on shutdown), if the store answers.
        try
        {
            await FlushAsync().WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void OnChanged(DataplaneStreamEvent change) => _dirty.TryAdd(change.NodeId, 0);

    /// <summary>Writes what changed since the last tick (and everything when a refresh is due).</summary>
    public async Task FlushAsync()
    {
        if (!await _flushing.WaitAsync(0))
        {
            return; // the running flush takes what is dirty now; the next tick takes the rest
        }
        try
        {
            var now = _clock.GetUtcNow();
            if (now >= _nextRefresh)
            {
                _nextRefresh = now + _options.RefreshInterval;
                foreach (var nodeId in _view.LocalNodeIds())
                {
                    _dirty.TryAdd(nodeId, 0);
                }
            }
            var lifetime = _options.DisconnectedRetention + _options.StaleAfter;
            foreach (var nodeId in _dirty.Keys)
            {
                _dirty.TryRemove(nodeId, out _);
                if (_view.LocalEntry(nodeId) is not { } entry)
                {
                    continue; // aged out here: its shared entry expires by itself
                }
                try
                {
                    await _store.PublishAsync(entry, lifetime);
                }
                catch (StoreUnavailableException ex)
                {
                    _dirty.TryAdd(nodeId, 0);
                    FleetLog.PublishFailed(_logger, nodeId, ex.Message);
                    return;
                }
            }
        }
        catch (Exception ex)
        {
            FleetLog.PublishError(_logger, ex);
        }
        finally
        {
            _flushing.Release();
        }
    }

    public void Dispose()
    {
        _streams.Changed -= OnChanged;
        _timer?.Dispose();
        _flushing.Dispose();
    }
}
