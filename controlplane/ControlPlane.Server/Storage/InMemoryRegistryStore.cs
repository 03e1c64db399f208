using System.Collections.Concurrent;

namespace ControlPlane.Server.Storage;

/// <summary>
/// The embedded store: everything in this process, one lock around every change so that the
/// registry's invariants (one owner per instance id, one live instance per host:port) hold without
/// retries. Critical sections are short and allocation-free on the heartbeat path; lease deadlines
/// sit in a min-heap that is pruned lazily (a renewal pushes a new deadline, the stale one is
/// skipped when it surfaces).
/// </summary>
public sealed class InMemoryRegistryStore : IRegistryStore
{
    private readonly object _lock = new();
    private readonly Dictionary<string, Entry> _byId = new(StringComparer.Ordinal);
    private readonly Dictionary<Endpoint, Entry> _byEndpoint = [];

    // Listings by image (every endpoint-set rebuild) and by name (svc:{name}:instances) read only
    // their own instances, not the whole registry. An id keeps its name and image for life.
    private readonly Dictionary<string, HashSet<Entry>> _byImage = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Entry>> _byName = new(StringComparer.Ordinal);
    private readonly PriorityQueue<Entry, long> _deadlines = new();
    private readonly PriorityQueue<Entry, long> _removals = new();
    private readonly HashSet<Entry> _overdue = new(ReferenceEqualityComparer.Instance);

    // When instances expired (ticks), oldest first, for self-preservation's window; the last hour only.
    private readonly Queue<(long At, int Count)> _expirations = new();
    private int _live;
    private int _draining;

    // Names, images and regions repeat across thousands of instances: keep one copy of each.
    private readonly ConcurrentDictionary<string, string> _strings = new(StringComparer.Ordinal);

    public ValueTask<RegisterOutcome> RegisterAsync(InstanceSpec spec, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        spec = spec with { Name = Share(spec.Name), Image = Share(spec.Image), Region = Share(spec.Region) };
        var endpoint = new Endpoint(spec.Host, spec.Port);
        lock (_lock)
        {
            _byId.TryGetValue(spec.InstanceId, out var existing);
            if (existing is not null && (existing.Spec.Name != spec.Name || existing.Spec.Image != spec.Image))
            {
                return Result(new RegisterOutcome(RegisterResult.DuplicateInstanceId, null, existing.Snapshot()));
            }
            if (_byEndpoint.TryGetValue(endpoint, out var holder) && holder != existing)
            {
                return Result(new RegisterOutcome(RegisterResult.PortConflict, null, holder.Snapshot()));
            }

            var ttl = TimeSpan.FromSeconds(spec.TtlSeconds);
            if (existing is null)
            {
                existing = new Entry(spec, now);
                _byId.Add(spec.InstanceId, existing);
                Index(_byImage, spec.Image, existing);
                Index(_byName, spec.Name, existing);
                _live++;
                existing.ExpiresAt = (now + ttl).UtcTicks;
                _byEndpoint[endpoint] = existing;
                _deadlines.Enqueue(existing, existing.ExpiresAt);
                return Result(new RegisterOutcome(RegisterResult.Created, existing.Snapshot(), null));
            }

            var oldEndpoint = new Endpoint(existing.Spec.Host, existing.Spec.Port);
            if (existing.Status != InstanceStatus.Expired && !oldEndpoint.Equals(endpoint))
            {
                _byEndpoint.Remove(oldEndpoint);
            }
            if (existing.Status == InstanceStatus.Expired)
            {
                // Back before removal: the same instance returns, healthy. A draining one stays draining:
                // drain is an operator's decision that a re-registering agent must not undo.
                existing.Status = InstanceStatus.Healthy;
                existing.ExpiredAt = 0;
                _live++;
            }
            _overdue.Remove(existing);
            existing.Spec = spec;
            existing.LastHeartbeat = now.UtcTicks;
            existing.ExpiresAt = (now + ttl).UtcTicks;
            _byEndpoint[endpoint] = existing;
            _deadlines.Enqueue(existing, existing.ExpiresAt);
            return Result(new RegisterOutcome(RegisterResult.Updated, existing.Snapshot(), null));
        }
    }

    public ValueTask<RenewOutcome[]> RenewAsync(IReadOnlyList<string> instanceIds, int ttlSeconds, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceIds);
        var results = new RenewOutcome[instanceIds.Count];
        var nowTicks = now.UtcTicks;
        lock (_lock)
        {
            for (var i = 0; i < results.Length; i++)
            {
                if (!_byId.TryGetValue(instanceIds[i], out var entry) || entry.Status == InstanceStatus.Expired)
                {
                    results[i] = new RenewOutcome(RenewResult.NotFound, InstanceStatus.Expired, 0, default);
                    continue;
                }
                if (ttlSeconds > 0 && ttlSeconds != entry.Spec.TtlSeconds)
                {
                    entry.Spec = entry.Spec with { TtlSeconds = ttlSeconds };
                }
                var ttl = entry.Spec.TtlSeconds;
                entry.LastHeartbeat = nowTicks;
                entry.ExpiresAt = nowTicks + (ttl * TimeSpan.TicksPerSecond);
                _deadlines.Enqueue(entry, entry.ExpiresAt);
                _overdue.Remove(entry);
                results[i] = new RenewOutcome(RenewResult.Renewed, entry.Status, ttl, new DateTimeOffset(entry.ExpiresAt, TimeSpan.Zero));
            }
            if (_deadlines.Count > (4 * _live) + 1024)
            {
                CompactDeadlines();
            }
        }
        return Result(results);
    }

    /// <summary>Nothing to do: this process is the only replica, and its cache never holds a removal back.</summary>
    public ValueTask AnnounceGoneAsync(string image, string instanceId, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    public ValueTask<InstanceRecord?> DeregisterAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!_byId.Remove(instanceId, out var entry))
            {
                return Result<InstanceRecord?>(null);
            }
            Unindex(entry);
            entry.Removed = true;
            _overdue.Remove(entry);
            if (entry.Status != InstanceStatus.Expired)
            {
                _live--;
                _draining -= entry.Status == InstanceStatus.Draining ? 1 : 0;
                ReleaseEndpoint(entry);
            }
            return Result<InstanceRecord?>(entry.Snapshot());
        }
    }

    public ValueTask<InstanceRecord?> SetDrainingAsync(string instanceId, bool draining, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (!_byId.TryGetValue(instanceId, out var entry) || entry.Status == InstanceStatus.Expired)
            {
                return Result<InstanceRecord?>(null);
            }
            var status = draining ? InstanceStatus.Draining : InstanceStatus.Healthy;
            if (status != entry.Status)
            {
                _draining += draining ? 1 : -1;
                entry.Status = status;
            }
            return Result<InstanceRecord?>(entry.Snapshot());
        }
    }

    public ValueTask<InstanceRecord?> GetAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Result(_byId.TryGetValue(instanceId, out var entry) ? entry.Snapshot() : null);
        }
    }

    public ValueTask<IReadOnlyList<InstanceRecord?>> GetManyAsync(IReadOnlyList<string> instanceIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceIds);
        var records = new InstanceRecord?[instanceIds.Count];
        lock (_lock)
        {
            for (var i = 0; i < records.Length; i++)
            {
                records[i] = _byId.TryGetValue(instanceIds[i], out var entry) ? entry.Snapshot() : null;
            }
        }
        return ValueTask.FromResult<IReadOnlyList<InstanceRecord?>>(records);
    }

    public ValueTask<IReadOnlyList<InstanceRecord>> ListAsync(InstanceQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        List<InstanceRecord> matches = [];
        lock (_lock)
        {
            IEnumerable<Entry> candidates = query.Image is not null ? (_byImage.TryGetValue(query.Image, out var inImage) ? inImage : [])
                : query.Name is not null ? (_byName.TryGetValue(query.Name, out var named) ? named : [])
                : _byId.Values;
            foreach (var entry in candidates)
            {
                if ((query.Name is null || entry.Spec.Name == query.Name)
                    && (query.Image is null || entry.Spec.Image == query.Image)
                    && (query.Status is null || entry.Status == query.Status)
                    && (query.AfterInstanceId is null || string.CompareOrdinal(entry.Spec.InstanceId, query.AfterInstanceId) > 0))
                {
                    matches.Add(entry.Snapshot());
                }
            }
        }
        matches.Sort(static (a, b) => string.CompareOrdinal(a.InstanceId, b.InstanceId));
        if (matches.Count > query.Limit)
        {
            matches.RemoveRange(query.Limit, matches.Count - query.Limit);
        }
        return Result<IReadOnlyList<InstanceRecord>>(matches);
    }

    /// <summary>How long expiries are remembered for <see cref="ExpiryScan.RecentlyExpired"/> (the longest self-preservation window that counts).</summary>
    public static readonly TimeSpan ExpirationsKept = TimeSpan.FromHours(1);

    public ValueTask<ExpiryScan> ScanExpiryAsync(DateTimeOffset now, TimeSpan retention, int limit, TimeSpan recentWindow = default, CancellationToken cancellationToken = default)
    {
        var nowTicks = now.UtcTicks;
        List<string> overdue = [];
        lock (_lock)
        {
            // Deadlines that have passed move from the heap to the overdue set, where they stay until
            // expired, renewed or removed (self-preservation may hold them there for a while).
            while (_deadlines.TryPeek(out var entry, out var due) && (due <= nowTicks || !IsCurrentDeadline(entry, due)))
            {
                _deadlines.Dequeue();
                if (IsCurrentDeadline(entry, due))
                {
                    _overdue.Add(entry);
                }
            }
            foreach (var entry in _overdue)
            {
                if (overdue.Count == limit)
                {
                    break;
                }
                overdue.Add(entry.Spec.InstanceId);
            }
            DateTimeOffset? next = _deadlines.TryPeek(out _, out var nextDue) ? new DateTimeOffset(nextDue, TimeSpan.Zero) : null;
            while (_removals.TryPeek(out var entry, out var expiredAt) && !IsCurrentExpiry(entry, expiredAt))
            {
                _removals.Dequeue();
            }
            if (_removals.TryPeek(out _, out var firstExpiredAt))
            {
                var removal = new DateTimeOffset(firstExpiredAt, TimeSpan.Zero) + retention;
                next = next is null || removal < next ? removal : next;
            }
            TrimExpirations(nowTicks);
            var since = nowTicks - Math.Min(recentWindow.Ticks, ExpirationsKept.Ticks);
            var recent = 0;
            foreach (var (at, count) in _expirations)
            {
                recent += at > since && at <= nowTicks ? count : 0;
            }
            return Result(new ExpiryScan(overdue, _live, next, recent));
        }
    }

    public ValueTask<IReadOnlyList<InstanceRecord>> ExpireAsync(IReadOnlyList<string> instanceIds, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceIds);
        List<InstanceRecord> expired = [];
        var nowTicks = now.UtcTicks;
        lock (_lock)
        {
            foreach (var id in instanceIds)
            {
                if (_byId.TryGetValue(id, out var entry) && entry.Status != InstanceStatus.Expired && entry.ExpiresAt <= nowTicks)
                {
                    ReleaseEndpoint(entry);
                    _draining -= entry.Status == InstanceStatus.Draining ? 1 : 0;
                    entry.Status = InstanceStatus.Expired;
                    entry.ExpiredAt = nowTicks;
                    _live--;
                    _overdue.Remove(entry);
                    _removals.Enqueue(entry, nowTicks);
                    expired.Add(entry.Snapshot());
                }
            }
            if (expired.Count > 0)
            {
                _expirations.Enqueue((nowTicks, expired.Count));
                TrimExpirations(nowTicks);
            }
        }
        return Result<IReadOnlyList<InstanceRecord>>(expired);
    }

    /// <summary>Under the lock: forgets expiries older than <see cref="ExpirationsKept"/>.</summary>
    private void TrimExpirations(long nowTicks)
    {
        while (_expirations.TryPeek(out var head) && head.At <= nowTicks - ExpirationsKept.Ticks)
        {
            _expirations.Dequeue();
        }
    }

    public ValueTask<IReadOnlyList<InstanceRecord>> RemoveExpiredAsync(DateTimeOffset now, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        var cutoff = (now - retention).UtcTicks;
        List<InstanceRecord> removed = [];
        lock (_lock)
        {
            while (_removals.TryPeek(out var entry, out var expiredAt) && expiredAt <= cutoff)
            {
                _removals.Dequeue();
                if (IsCurrentExpiry(entry, expiredAt))
                {
                    entry.Removed = true;
                    _byId.Remove(entry.Spec.InstanceId);
                    Unindex(entry);
                    removed.Add(entry.Snapshot());
                }
            }
        }
        return Result<IReadOnlyList<InstanceRecord>>(removed);
    }

    public ValueTask<RegistryCounts> CountAsync(CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            return Result(new RegistryCounts(_live - _draining, _draining, _byId.Count - _live));
        }
    }

    public ValueTask PingAsync(CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

    /// <summary>Rebuilds the deadline heap from current deadlines: renewals leave stale entries behind, this bounds them.</summary>
    private void CompactDeadlines()
    {
        var current = new List<(Entry, long)>(_live);
        foreach (var (entry, due) in _deadlines.UnorderedItems)
        {
            if (IsCurrentDeadline(entry, due))
            {
                current.Add((entry, due));
            }
        }
        _deadlines.Clear();
        _deadlines.EnqueueRange(current);
    }

    private static void Index(Dictionary<string, HashSet<Entry>> index, string key, Entry entry)
    {
        if (!index.TryGetValue(key, out var set))
        {
            index[key] = set = new HashSet<Entry>(ReferenceEqualityComparer.Instance);
        }
        set.Add(entry);
    }

    private void Unindex(Entry entry)
    {
        Remove(_byImage, entry.Spec.Image, entry);
        Remove(_byName, entry.Spec.Name, entry);

        static void Remove(Dictionary<string, HashSet<Entry>> index, string key, Entry entry)
        {
            if (index.TryGetValue(key, out var set) && set.Remove(entry) && set.Count == 0)
            {
                index.Remove(key);
            }
        }
    }

    private static bool IsCurrentDeadline(Entry entry, long due) => !entry.Removed && entry.Status != InstanceStatus.Expired && entry.ExpiresAt == due;

    private static bool IsCurrentExpiry(Entry entry, long expiredAt) => !entry.Removed && entry.Status == InstanceStatus.Expired && entry.ExpiredAt == expiredAt;

    private void ReleaseEndpoint(Entry entry)
    {
        var endpoint = new Endpoint(entry.Spec.Host, entry.Spec.Port);
        if (_byEndpoint.TryGetValue(endpoint, out var holder) && holder == entry)
        {
            _byEndpoint.Remove(endpoint);
        }
    }

    private string Share(string value) => value.Length == 0 ? "" : _strings.GetOrAdd(value, value);

    private static ValueTask<T> Result<T>(T value) => ValueTask.FromResult(value);

    /// <summary>host:port, the host in every spelling of it (<see cref="HostIdentity"/>).</summary>
    private readonly record struct Endpoint
    {
        public Endpoint(string host, int port)
        {
            Host = HostIdentity.Canonical(host);
            Port = port;
        }

        public string Host { get; }

        public int Port { get; }
    }

    /// <summary>The mutable runtime state of one instance; snapshots go out, entries never do.</summary>
    private sealed class Entry(InstanceSpec spec, DateTimeOffset registeredAt)
    {
        public InstanceSpec Spec { get; set; } = spec;

        public InstanceStatus Status { get; set; }

        public long RegisteredAt { get; } = registeredAt.UtcTicks;

        public long LastHeartbeat { get; set; } = registeredAt.UtcTicks;

        public long ExpiresAt { get; set; }

        public long ExpiredAt { get; set; }

        public bool Removed { get; set; }

        public InstanceRecord Snapshot() => new(
            Spec,
            Status,
            new DateTimeOffset(RegisteredAt, TimeSpan.Zero),
            new DateTimeOffset(LastHeartbeat, TimeSpan.Zero),
            new DateTimeOffset(ExpiresAt, TimeSpan.Zero),
            ExpiredAt == 0 ? null : new DateTimeOffset(ExpiredAt, TimeSpan.Zero));
    }
}
