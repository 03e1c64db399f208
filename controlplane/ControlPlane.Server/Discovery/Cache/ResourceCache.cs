using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Threading.Channels;
using ControlPlane.Server.Resources;
using ControlPlane.Hosting;

namespace ControlPlane.Server.Discovery.Cache;

/// <summary>
/// The current version of every resource, per type and name, rebuilt from the stores when
/// <see cref="ResourceChanges"/> signals a change. Signals are debounced (<see cref="ChangeDebouncer"/>),
/// then one worker reads the stores and swaps in new immutable snapshots; a resource whose content
/// did not change keeps its version and is not reported, so nothing is sent for it. Loads everything
/// when the host starts and reports warm once done; loads everything again on
/// <see cref="ResourceChanges.Reset"/> (a replica that missed changes), sending only what differs.
/// A failed load changes nothing: the snapshots in memory keep serving until a load succeeds. A full
/// reload that would remove most endpoints at once is held back for a while (<see cref="MassRemovalGuard"/>).
/// </summary>
internal sealed class ResourceCache : IResourceWatch, IHostedService, IDisposable
{
    private static readonly string[] Types = [ResourceTypes.EndpointSet, ResourceTypes.RoutingPolicy];

    private readonly Dictionary<string, Slot> _slots = Types.ToDictionary(t => t, t => new Slot(ResourceTypeSnapshot.Empty(t)), StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Watcher, byte> _watchers = new();
    private readonly TaskCompletionSource _warm = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private readonly ResourceChanges _changes;
    private readonly ResourceLoader _loader;
    private readonly DiscoveryOptions _options;
    private readonly TimeProvider _clock;
    private readonly DiscoveryMetrics _metrics;
    private readonly ILogger _logger;
    private readonly ChangeDebouncer _debouncer;
    private readonly ITimer _reloadRetry;
    private readonly MassRemovalGuard _guard;
    private readonly ITimer _holdOver;
    // 1 from the end of a mass-removal hold until a reload has sent what the store holds.
    private int _releasing;
    private readonly IStorePositionSource? _positions;
    private readonly object _positionLock = new();
    private volatile LoadedPosition? _position;
    // Under _positionLock: the store's position read after the newest load (see PositionText).
    private StorePosition? _loadedUpTo;
    private volatile string? _responsePosition;
    private readonly string _embeddedPosition;
    private TaskCompletionSource _positionAdvanced = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _revision;
    private int _reloadAll;
    private Task? _worker;

    public ResourceCache(
        ResourceChanges changes, ResourceLoader loader, DiscoveryOptions options, TimeProvider clock, DiscoveryMetrics metrics, ILogger<ResourceCache> logger,
        IStorePositionSource? positions = null)
    {
        ArgumentNullException.ThrowIfNull(changes);
        ArgumentNullException.ThrowIfNull(loader);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(logger);
        _changes = changes;
        _loader = loader;
        _options = options;
        _clock = clock;
        _metrics = metrics;
        _logger = logger;
        _positions = positions;
        StartedAt = clock.GetTimestamp();
        EmbeddedEpoch = positions is null ? $"embedded-{clock.GetUtcNow().ToUnixTimeMilliseconds()}-{Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(2))}" : "";
        _embeddedPosition = positions is null ? EmbeddedEpoch + ":0" : "";
        _debouncer = new ChangeDebouncer(clock, options.DebounceWindow, options.MaxDebounceDelay, () => _wake.Writer.TryWrite(true));
        _reloadRetry = clock.CreateBackgroundTimer(static s => ((ResourceCache)s!)._wake.Writer.TryWrite(true), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _guard = new MassRemovalGuard(options);
        _holdOver = clock.CreateBackgroundTimer(static s => ((ResourceCache)s!).EndHold(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        metrics.Resources = () => _slots.Select(s => (s.Key, s.Value.Current.Count));
        metrics.EndpointsHeld = () => _guard.Held;
    }

    public long Revision => Interlocked.Read(ref _revision);

    public Task WhenWarm => _warm.Task;

    public bool IsWarm => _warm.Task.IsCompletedSuccessfully;

    public StorePosition? Position => _position?.At;

    public string PositionText => _responsePosition ?? _embeddedPosition;

    public bool FollowsStore => _positions is not null;

    public string EmbeddedEpoch { get; }

    public long StartedAt { get; }

    public Task PositionAdvanced
    {
        get
        {
            lock (_positionLock)
            {
                return _positionAdvanced.Task;
            }
        }
    }

    public void CatchUp()
    {
        _positions?.RequestCatchUp();
        _wake.Writer.TryWrite(true);
    }

    public ResourceTypeSnapshot Snapshot(string typeUrl) =>
        _slots.TryGetValue(typeUrl, out var slot) ? slot.Current : ResourceTypeSnapshot.Empty(typeUrl);

    public IDisposable Watch(Action<ResourceChangeSet> onChanged)
    {
        ArgumentNullException.ThrowIfNull(onChanged);
        var watcher = new Watcher(this, onChanged);
        _watchers.TryAdd(watcher, 0);
        return watcher;
    }

    /// <summary>Open watches (for leak checks).</summary>
    public int WatchCount => _watchers.Count;

    /// <summary>Changes signalled and waiting for their debounce (for tests and diagnostics).</summary>
    internal int PendingChanges => _debouncer.PendingCount;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Subscribe before loading: a change made during the load is applied again afterwards,
        // which is harmless (same content, same version), where a missed one would be stale forever.
        _changes.Changed += OnChanged;
        _changes.Reset += OnReset;
        _changes.PassedOver += OnPassedOver;
        _changes.HeldBack = _guard.ImageOf;
        _worker = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        if (_positions is null && _options.RestartHold > TimeSpan.Zero)
        {
            DiscoveryLog.RestartHold(_logger, _options.RestartHold);
        }
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _changes.Changed -= OnChanged;
        _changes.Reset -= OnReset;
        _changes.PassedOver -= OnPassedOver;
        _changes.HeldBack = null;
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

    private void OnChanged(string typeUrl, string name, IReadOnlyList<string>? instanceIds)
    {
        if (_slots.ContainsKey(typeUrl) && !string.IsNullOrEmpty(name))
        {
            if (typeUrl == ResourceTypes.EndpointSet)
            {
                // Before the key is queued: the load that takes the key finds what to read.
                _loader.NoteEndpoints(name, instanceIds);
                if (instanceIds is not null && _guard.Active)
                {
                    _guard.Named(instanceIds);
                }
            }
            _debouncer.Add(new ResourceKey(typeUrl, name));
        }
    }

    private void OnReset()
    {
        // Not debounced: a reset is rare (a replica that lost track of the store's changes) and the
        // nodes are stale until it is done.
        Volatile.Write(ref _reloadAll, 1);
        _wake.Writer.TryWrite(true);
    }

    /// <summary>The mass-removal hold is over: a reload sends what the store holds now.</summary>
    private void EndHold()
    {
        Volatile.Write(ref _releasing, 1);
        OnReset();
    }

    /// <summary>A change that alters no resource: nothing to load, but the position held moves past it.</summary>
    private void OnPassedOver() => _wake.Writer.TryWrite(true);

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        await WarmUpAsync(cancellationToken);
        while (true)
        {
            await _wake.Reader.ReadAsync(cancellationToken);
            // Read before taking the work: every change up to it was signalled, so it is in what is
            // taken below or was applied before.
            var relayed = _positions?.Relayed;
            var applied = true;
            var published = new List<ResourceChangeSet>(2);
            var reloaded = false;
            if (Interlocked.Exchange(ref _reloadAll, 0) == 1)
            {
                applied = reloaded = await ReloadAllAsync(published, cancellationToken);
            }
            // One batch per wake-up: changes that arrived while this one was applied wait for their
            // own debounce, so a burst stays coalesced.
            if (_debouncer.Take() is { } batch)
            {
                applied &= await ApplyAsync(batch.Keys, batch.ObservedTimestamp, published, cancellationToken);
            }
            if (applied && Volatile.Read(ref _reloadAll) == 0)
            {
                // Every change up to relayed was signalled before it was read, so the batch held it. Changes
                // signalled since may be in the batch too: when nothing waits once the position is read
                // again, they were (each is signalled before the position passes it), and so are all up to it.
                var now = _positions?.Relayed;
                if (now is not null && _debouncer.PendingCount == 0 && Volatile.Read(ref _reloadAll) == 0)
                {
                    relayed = now;
                }
                if (relayed is { } at)
                {
                    Advance(at, replace: reloaded);
                }
            }
            // After the position: a response built for these changes says where they stand in the
            // store, not the position before them (or none at all, before the first).
            foreach (var changes in published)
            {
                Notify(changes);
            }
        }
    }

    /// <summary>
    /// The snapshots now hold every change up to <paramref name="at"/>. A position never goes back, but
    /// after everything was reloaded (<paramref name="replace"/>): the follower resets when the store's
    /// server restarted or its revision went back, and a store restored from an older copy counts its
    /// revisions again from there, so the old, higher position would say the replica holds changes the
    /// store no longer has (nodes sent it would wait at every failover, and the reused revisions would
    /// pass for ones the replica had loaded).
    /// </summary>
    private void Advance(StorePosition at, bool replace = false)
    {
        TaskCompletionSource advanced;
        lock (_positionLock)
        {
            if (_position is { } current && (replace ? current.At == at : !current.At.IsBehind(at)))
            {
                return;
            }
            _position = new LoadedPosition(at, at.ToString());
            _responsePosition = ResponsePosition();
            advanced = _positionAdvanced;
            _positionAdvanced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        advanced.TrySetResult();
    }

    /// <summary>
    /// After a load from the store, before its content is swapped in: the store's position then, which
    /// no content just read is ahead of. Null with the embedded store, and when the read fails: the
    /// load succeeded (and took the endpoint notes), so its content is published all the same, and
    /// responses carry the position held, as they would without the read.
    /// </summary>
    private async Task<StorePosition?> ReadStoreAsync(CancellationToken cancellationToken)
    {
        if (_positions is null)
        {
            return null;
        }
        try
        {
            return await _positions.ReadStoreAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            DiscoveryLog.StorePositionUnread(_logger, ex.Message);
            return null;
        }
    }

    /// <summary>
    /// Records <paramref name="read"/> (from <see cref="ReadStoreAsync"/>) before the content read with it
    /// is published; only a later one, but after everything was reloaded (<paramref name="replace"/>, see <see cref="Advance"/>).
    /// </summary>
    private void LoadedUpTo(StorePosition? read, bool replace = false)
    {
        if (read is not { } at)
        {
            return;
        }
        lock (_positionLock)
        {
            if (!replace && _loadedUpTo is { } known && !known.IsBehind(at) && known.Epoch == at.Epoch)
            {
                return;
            }
            _loadedUpTo = at;
            _responsePosition = ResponsePosition();
        }
    }

    /// <summary>Under the lock: the later of the position held and the one last loaded up to (the latter when they cannot be compared).</summary>
    private string? ResponsePosition()
    {
        var held = _position?.At;
        if (held is not { } h)
        {
            return _loadedUpTo?.ToString();
        }
        if (_loadedUpTo is not { } loaded)
        {
            return _position!.Text;
        }
        return h.IsBehind(loaded) || (h.Epoch != loaded.Epoch && !loaded.IsBehind(h)) ? loaded.ToString() : _position!.Text;
    }

    /// <summary>Loads every resource and applies what differs from the snapshots, removals included.</summary>
    private async Task<bool> ReloadAllAsync(List<ResourceChangeSet> published, CancellationToken cancellationToken)
    {
        var observed = _clock.GetTimestamp();
        var loaded = new Dictionary<string, Dictionary<string, VersionedResource?>>(StringComparer.Ordinal);
        try
        {
            foreach (var type in Types)
            {
                // Every name held now is looked at: one absent from the store was removed.
                var byName = _slots[type].Current.Resources.Keys.ToDictionary(n => n, _ => (VersionedResource?)null, StringComparer.Ordinal);
                foreach (var resource in await _loader.LoadAllAsync(type, cancellationToken))
                {
                    byName[resource.Name] = resource;
                }
                loaded[type] = byName;
            }
            LoadedUpTo(await ReadStoreAsync(cancellationToken), replace: true);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Volatile.Write(ref _reloadAll, 1);
            _reloadRetry.Change(_options.RebuildRetryDelay, Timeout.InfiniteTimeSpan);
            DiscoveryLog.LoadFailed(_logger, ex, _debouncer.PendingCount, _options.RebuildRetryDelay);
            return false;
        }
        if (Interlocked.Exchange(ref _releasing, 0) == 1)
        {
            // The hold's end: what the store holds now is sent, however much that removes.
            DiscoveryLog.MassRemovalReleased(_logger, _guard.End());
        }
        else if (_guard.TryHold(_slots[ResourceTypes.EndpointSet].Current, loaded[ResourceTypes.EndpointSet]) is { Held: > 0 } hold)
        {
            DiscoveryLog.MassRemovalHeld(_logger, hold.Held, hold.Of, _options.MassRemovalHold);
            _holdOver.Change(_options.MassRemovalHold, Timeout.InfiniteTimeSpan);
        }
        Publish(loaded, observed, loaded.Sum(l => l.Value.Count), published);
        return true;
    }

    private async Task WarmUpAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var started = Stopwatch.GetTimestamp();
            // Read before loading: every change up to it is in what the load reads, or is signalled again.
            var relayed = _positions?.Relayed;
            try
            {
                var loaded = new Dictionary<string, List<VersionedResource>>(StringComparer.Ordinal);
                foreach (var type in Types)
                {
                    loaded[type] = await _loader.LoadAllAsync(type, cancellationToken);
                }
                LoadedUpTo(await ReadStoreAsync(cancellationToken));
                var revision = Interlocked.Increment(ref _revision);
                foreach (var (type, resources) in loaded)
                {
                    var builder = ImmutableSortedDictionary.CreateBuilder<string, VersionedResource>(StringComparer.Ordinal);
                    ulong digest = 0;
                    foreach (var resource in resources)
                    {
                        builder[resource.Name] = resource;
                        digest ^= resource.Digest;
                    }
                    _slots[type].Current = new ResourceTypeSnapshot(type, revision, builder.ToImmutable(), digest);
                }
                if (relayed is { } at && Volatile.Read(ref _reloadAll) == 0)
                {
                    Advance(at);
                }
                DiscoveryLog.Warm(_logger, loaded[ResourceTypes.EndpointSet].Count, loaded[ResourceTypes.RoutingPolicy].Count, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                _warm.TrySetResult();
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                DiscoveryLog.LoadFailed(_logger, ex, _debouncer.PendingCount, _options.RebuildRetryDelay);
                await Task.Delay(_options.RebuildRetryDelay, _clock, cancellationToken);
            }
        }
    }

    private async Task<bool> ApplyAsync(IReadOnlyCollection<ResourceKey> keys, long observedTimestamp, List<ResourceChangeSet> published, CancellationToken cancellationToken)
    {
        var loaded = new Dictionary<string, Dictionary<string, VersionedResource?>>(StringComparer.Ordinal);
        List<(string Image, string InstanceId)>? gone = _guard.Active ? [] : null;
        try
        {
            // Endpoint sets last: their load takes what was noted for them and patches the sets held, so it
            // must be the last step that can fail (a failure there puts the notes back for the retry).
            foreach (var group in keys.GroupBy(k => k.TypeUrl, StringComparer.Ordinal).OrderBy(g => g.Key == ResourceTypes.EndpointSet))
            {
                loaded[group.Key] = await _loader.LoadAsync(group.Key, group.Select(k => k.Name).ToList(), cancellationToken, gone);
            }
            LoadedUpTo(await ReadStoreAsync(cancellationToken));
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _debouncer.Retry(keys, _options.RebuildRetryDelay);
            DiscoveryLog.LoadFailed(_logger, ex, keys.Count, _options.RebuildRetryDelay);
            return false;
        }
        // Named by a change made after the hold began, and gone from the store: removed there since.
        _guard.Release(gone ?? []);
        Publish(loaded, observedTimestamp, keys.Count, published);
        return true;
    }

    /// <summary>
    /// Swaps in new snapshots holding what was <paramref name="loaded"/> (null: removed) and adds what
    /// changed to <paramref name="published"/>, for the watchers once the position is settled.
    /// </summary>
    private void Publish(Dictionary<string, Dictionary<string, VersionedResource?>> loaded, long observedTimestamp, int signalled, List<ResourceChangeSet> published)
    {
        var updates = new List<(Slot Slot, ImmutableSortedDictionary<string, VersionedResource> Resources, ulong Digest, HashSet<string> Changed)>();
        foreach (var (type, resources) in loaded)
        {
            var slot = _slots[type];
            var current = slot.Current;
            var builder = current.Resources.ToBuilder();
            var digest = current.Digest;
            var changed = new HashSet<string>(StringComparer.Ordinal);
            var merge = type == ResourceTypes.EndpointSet && _guard.Active;
            foreach (var (name, loadedResource) in resources)
            {
                var resource = merge ? _guard.Merge(name, loadedResource) : loadedResource;
                var existing = builder.GetValueOrDefault(name);
                if (resource?.Version == existing?.Version)
                {
                    continue; // equal content, equal version: nothing to send
                }
                if (existing is not null)
                {
                    digest ^= existing.Digest;
                    builder.Remove(name);
                }
                if (resource is not null)
                {
                    digest ^= resource.Digest;
                    builder[name] = resource;
                }
                changed.Add(name);
            }
            if (changed.Count > 0)
            {
                updates.Add((slot, builder.ToImmutable(), digest, changed));
            }
        }
        if (updates.Count == 0)
        {
            DiscoveryLog.Applied(_logger, Revision, 0, signalled);
            return;
        }

        var revision = Interlocked.Increment(ref _revision);
        var byType = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        foreach (var (slot, resources, digest, changed) in updates)
        {
            slot.Current = new ResourceTypeSnapshot(slot.Current.TypeUrl, revision, resources, digest);
            byType[slot.Current.TypeUrl] = changed;
            _metrics.CacheChanged(slot.Current.TypeUrl, changed.Count);
        }
        var changeSet = new ResourceChangeSet(revision, observedTimestamp, byType);
        DiscoveryLog.Applied(_logger, revision, changeSet.Count, signalled);
        published.Add(changeSet);
    }

    /// <summary>Tells every watcher what <paramref name="changeSet"/> changed.</summary>
    private void Notify(ResourceChangeSet changeSet)
    {
        foreach (var watcher in _watchers.Keys)
        {
            try
            {
                watcher.Notify(changeSet);
            }
            catch (Exception ex)
            {
                DiscoveryLog.WatcherFailed(_logger, ex, changeSet.Revision);
            }
        }
    }

    public void Dispose()
    {
        _reloadRetry.Dispose();
        _holdOver.Dispose();
        _debouncer.Dispose();
        _stopping.Dispose();
    }

    /// <summary>The store position the snapshots hold, and its text as responses carry it (formatted once).</summary>
    private sealed record LoadedPosition(StorePosition At, string Text);

    private sealed class Slot(ResourceTypeSnapshot initial)
    {
        private volatile ResourceTypeSnapshot _current = initial;

        public ResourceTypeSnapshot Current
        {
            get => _current;
            set => _current = value;
        }
    }

    private sealed class Watcher(ResourceCache cache, Action<ResourceChangeSet> onChanged) : IDisposable
    {
        public void Notify(ResourceChangeSet changes) => onChanged(changes);

        public void Dispose() => cache._watchers.TryRemove(this, out _);
    }
}
