using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;
using static ControlPlane.Server.Storage.Redis.RedisInstanceRecords;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// The registry on Redis (scale-out), with the embedded store's semantics: every change is one Lua
/// script (Scripts/), so the duplicate-id and port-conflict guards, renewals, expiry and removal
/// are atomic across every control plane sharing the Redis. Registrations and renewals are
/// group-committed (<see cref="RedisRegistrations"/>, <see cref="RedisRenewals"/>): many per script
/// call, each still atomic and answered once Redis holds it. Keys (under the configured prefix):
/// <c>inst:{id}</c> (the instance as JSON), <c>svc:{name}:instances</c> and <c>img:{image}:instances</c> (sets),
/// <c>inst_expiry</c> (zset by deadline), <c>inst_ttl</c> (hash id → TTL of live instances),
/// <c>inst_expired</c> (zset by expiry time),
/// <c>inst_endpoints</c> (hash HOST:port → id), <c>inst_draining</c> (set), <c>instances</c>
/// (zset of ids, for ordered listing). Times are kept as unix milliseconds.
/// <para>
/// With a checkpoint interval, heartbeats for ids this replica knows are answered from its lease table
/// and written every interval (<see cref="RedisLeaseTable"/>); reads here merge in those renewals, and
/// the expiry scan expires an instance only <see cref="RedisStoreOptions.ExpiryLag"/> after its deadline
/// in Redis, so no replica expires a renewal another still holds in memory.
/// </para>
/// <para>
/// Reads keep being answered while Redis cannot be reached: from the <see cref="StoreMirror"/> the
/// discovery cache keeps (as current as what this replica pushes), marked as served from memory
/// (<see cref="MemoryReads"/>). While Redis is known to be unreachable they go there at once; a read
/// that fails because Redis just became unreachable is answered from there too.
/// </para>
/// </summary>
internal sealed class RedisRegistryStore : IRegistryStore, IDisposable
{
    /// <summary>Ids per script call when expiring or listing everything: bounds how long one script holds Redis.</summary>
    internal const int BatchSize = 1000;

    private readonly RedisConnection _redis;
    private readonly RedisValue _prefix;
    private readonly RedisRegistrations _registrations;
    private readonly RedisRenewals _renewals;
    private readonly RedisLeaseTable? _leases;
    private readonly TimeSpan _expiryLag;
    private readonly StoreMirror? _mirror;

    /// <summary>
    /// The store on <paramref name="redis"/>. Without <paramref name="options"/> (tools, tests) every
    /// renewal is answered once Redis holds it and nothing expires late, as with a checkpoint interval of 0.
    /// </summary>
    public RedisRegistryStore(RedisConnection redis, RedisStoreOptions? options = null, TimeProvider? clock = null, ILogger? logger = null, StoreMirror? mirror = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        _redis = redis;
        _mirror = mirror;
        _prefix = redis.KeyPrefix;
        _registrations = new RedisRegistrations(redis);
        _renewals = new RedisRenewals(redis);
        if (options is not null)
        {
            _expiryLag = options.EffectiveExpiryLag();
            if (options.RenewalCheckpointInterval > TimeSpan.Zero)
            {
                _leases = new RedisLeaseTable(redis, _renewals, options.RenewalCheckpointInterval, _expiryLag, clock ?? TimeProvider.System, logger ?? NullLogger.Instance);
            }
        }
    }

    /// <summary>This replica's lease table; null when every renewal is written before it is answered.</summary>
    internal RedisLeaseTable? Leases => _leases;

    /// <summary>Writes the renewals this replica answered from memory and Redis does not hold yet (shutdown, tests).</summary>
    internal Task FlushRenewalsAsync(CancellationToken cancellationToken = default) => _leases?.FlushAsync(cancellationToken) ?? Task.CompletedTask;

    /// <summary>Graceful stop: the final checkpoint; heartbeats still coming are then answered once Redis holds them.</summary>
    internal Task StopRenewalsAsync(CancellationToken cancellationToken) => _leases?.StopAsync(cancellationToken) ?? Task.CompletedTask;

    public async ValueTask<RegisterOutcome> RegisterAsync(InstanceSpec spec, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var outcome = await _registrations.RegisterAsync(spec, now, cancellationToken);
        // Registered again (perhaps with another TTL): the registration wrote the lease.
        _leases?.Forget(spec.InstanceId);
        return outcome;
    }

    public ValueTask<RenewOutcome[]> RenewAsync(IReadOnlyList<string> instanceIds, int ttlSeconds, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceIds);
        if (instanceIds.Count == 0)
        {
            return ValueTask.FromResult<RenewOutcome[]>([]);
        }
        return _leases is null ? _renewals.RenewAsync(instanceIds, ttlSeconds, now, cancellationToken) : _leases.RenewAsync(instanceIds, ttlSeconds, now, cancellationToken);
    }

    public async ValueTask<InstanceRecord?> DeregisterAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        var record = Parse(await _redis.EvaluateAsync(RedisScripts.Deregister, [_prefix, instanceId], cancellationToken));
        _leases?.Forget(instanceId);
        return record;
    }

    public async ValueTask AnnounceGoneAsync(string image, string instanceId, CancellationToken cancellationToken = default) =>
        await _redis.EvaluateAsync(RedisScripts.AnnounceGone, [_prefix, instanceId, image], cancellationToken);

    public async ValueTask<InstanceRecord?> SetDrainingAsync(string instanceId, bool draining, CancellationToken cancellationToken = default)
    {
        var record = Parse(await _redis.EvaluateAsync(RedisScripts.SetDraining, [_prefix, instanceId, draining ? "1" : "0"], cancellationToken));
        if (record is not null)
        {
            _leases?.SetDraining(instanceId, draining);
        }
        return Merge(record);
    }

    public ValueTask<InstanceRecord?> GetAsync(string instanceId, CancellationToken cancellationToken = default) =>
        ReadAsync(() => GetFromRedisAsync(instanceId, cancellationToken), m => Merge(m.Get(instanceId)));

    public ValueTask<IReadOnlyList<InstanceRecord?>> GetManyAsync(IReadOnlyList<string> instanceIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceIds);
        return ReadAsync(() => GetManyFromRedisAsync(instanceIds, cancellationToken), m => (IReadOnlyList<InstanceRecord?>)GetManyFromMemory(m, instanceIds));
    }

    public ValueTask<IReadOnlyList<InstanceRecord>> ListAsync(InstanceQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return ReadAsync(() => ListFromRedisAsync(query, cancellationToken), m => (IReadOnlyList<InstanceRecord>)m.List(query, r => Merge(r)!));
    }

    public ValueTask<RegistryCounts> CountAsync(CancellationToken cancellationToken = default) =>
        ReadAsync(() => CountFromRedisAsync(cancellationToken), m => m.Count());

    /// <summary>A read from Redis, or from the mirror's instances (see <see cref="StoreMirror.ReadAsync"/>).</summary>
    private ValueTask<T> ReadAsync<T>(Func<Task<T>> fromRedis, Func<StoreMirror, T> fromMemory) =>
        StoreMirror.ReadAsync(_redis, _mirror, static m => m.HasInstances, fromRedis, fromMemory);

    private InstanceRecord?[] GetManyFromMemory(StoreMirror mirror, IReadOnlyList<string> instanceIds)
    {
        var records = new InstanceRecord?[instanceIds.Count];
        for (var i = 0; i < records.Length; i++)
        {
            records[i] = Merge(mirror.Get(instanceIds[i]));
        }
        return records;
    }

    /// <summary>One record as Redis holds it (with this replica's renewals); never from memory.</summary>
    internal async Task<InstanceRecord?> GetFromRedisAsync(string instanceId, CancellationToken cancellationToken)
    {
        var reply = (RedisResult[])(await _redis.EvaluateAsync(RedisScripts.Get, [_prefix, instanceId], cancellationToken))!;
        return Merge(Parse(reply[0]));
    }

    /// <summary>Records as Redis holds them (with this replica's renewals); never from memory.</summary>
    internal async Task<IReadOnlyList<InstanceRecord?>> GetManyFromRedisAsync(IReadOnlyList<string> instanceIds, CancellationToken cancellationToken)
    {
        var records = new List<InstanceRecord?>(instanceIds.Count);
        foreach (var chunk in instanceIds.Chunk(BatchSize))
        {
            foreach (var item in (RedisResult[])(await _redis.EvaluateAsync(RedisScripts.Get, WithIds([_prefix], chunk), cancellationToken))!)
            {
                records.Add(Merge(Parse(item)));
            }
        }
        return records;
    }

    /// <summary>A script's arguments: <paramref name="head"/>, then <paramref name="ids"/>.</summary>
    private static RedisValue[] WithIds(RedisValue[] head, string[] ids)
    {
        var arguments = new RedisValue[head.Length + ids.Length];
        head.CopyTo(arguments, 0);
        for (var i = 0; i < ids.Length; i++)
        {
            arguments[head.Length + i] = ids[i];
        }
        return arguments;
    }

    /// <summary>A record as this replica answers it: with its renewals not yet in Redis.</summary>
    private InstanceRecord? Merge(InstanceRecord? record) => record is null || _leases is null ? record : _leases.Merge(record);

    /// <summary>A listing as Redis holds it (with this replica's renewals); never from memory.</summary>
    internal async Task<IReadOnlyList<InstanceRecord>> ListFromRedisAsync(InstanceQuery query, CancellationToken cancellationToken)
    {
        if (query.Limit <= 0)
        {
            return [];
        }
        if (query.Image is null && query.Name is null)
        {
            return await ListAllAsync(query, cancellationToken);
        }
        // A service's or an image's instances: read them all at one moment, then filter and order here.
        RedisValue[] arguments = query.Image is not null ? [_prefix, "img", query.Image] : [_prefix, "svc", query.Name];
        var records = ParseMany(await _redis.EvaluateAsync(RedisScripts.ListIndex, arguments, cancellationToken)).ConvertAll(r => Merge(r)!);
        records.RemoveAll(r => !Matches(query, r));
        records.Sort(static (a, b) => string.CompareOrdinal(a.InstanceId, b.InstanceId));
        if (records.Count > query.Limit)
        {
            records.RemoveRange(query.Limit, records.Count - query.Limit);
        }
        return records;
    }

    /// <summary>Every instance in id order, a batch per script call, until the page is full.</summary>
    private async Task<IReadOnlyList<InstanceRecord>> ListAllAsync(InstanceQuery query, CancellationToken cancellationToken)
    {
        var matches = new List<InstanceRecord>();
        var from = query.AfterInstanceId is null ? "-" : "(" + query.AfterInstanceId;
        var batch = (int)Math.Min(query.Limit, BatchSize);
        while (true)
        {
            var reply = (RedisResult[])(await _redis.EvaluateAsync(RedisScripts.ListAll, [_prefix, from, batch], cancellationToken))!;
            foreach (var parsed in ParseMany(reply[2]))
            {
                var record = Merge(parsed)!;
                if (Matches(query, record))
                {
                    matches.Add(record);
                    if (matches.Count == query.Limit)
                    {
                        return matches;
                    }
                }
            }
            if ((int)reply[0] < batch)
            {
                return matches;
            }
            from = "(" + (string?)reply[1];
            // A filtered listing may skip many: read bigger batches after the first.
            batch = BatchSize;
        }
    }

    private static bool Matches(InstanceQuery query, InstanceRecord record) =>
        (query.Name is null || record.Spec.Name == query.Name)
        && (query.Image is null || record.Spec.Image == query.Image)
        && (query.Status is null || record.Status == query.Status)
        && (query.AfterInstanceId is null || string.CompareOrdinal(record.InstanceId, query.AfterInstanceId) > 0);

    /// <summary>
    /// Overdue: live instances whose deadline in Redis is older than <paramref name="now"/> less the expiry
    /// lag in force (this replica's, or the longest any live replica advertises: see <see cref="RedisLeaseTable"/>),
    /// as any replica's renewals not yet checkpointed are at most that old. This replica first writes
    /// its own pending renewals (a pass is rare; a checkpoint is cheap), so it never expires what it renewed.
    /// </summary>
    public async ValueTask<ExpiryScan> ScanExpiryAsync(DateTimeOffset now, TimeSpan retention, int limit, TimeSpan recentWindow = default, CancellationToken cancellationToken = default)
    {
        await FlushRenewalsAsync(cancellationToken);
        var window = (long)Math.Clamp(recentWindow.TotalMilliseconds, 0, InMemoryRegistryStore.ExpirationsKept.TotalMilliseconds);
        var reply = (RedisResult[])(await _redis.EvaluateAsync(RedisScripts.ScanExpiry,
            [_prefix, ToUnixMilliseconds(now), Math.Max(limit, 0), window, (long)_expiryLag.TotalMilliseconds], cancellationToken))!;
        var overdue = ((RedisResult[])reply[0]!).Select(r => (string)r!).ToArray();
        // The lag in force: this replica's, or a longer one another live replica advertised.
        var lag = TimeSpan.FromMilliseconds((long)reply[5]);
        DateTimeOffset? next = reply[2].IsNull ? null : FromUnixMilliseconds(Score(reply[2])) + lag;
        if (!reply[3].IsNull)
        {
            var removal = FromUnixMilliseconds(Score(reply[3])) + retention;
            next = next is null || removal < next ? removal : next;
        }
        return new ExpiryScan(overdue, (int)reply[1], next, (int)reply[4]);
    }

    public async ValueTask<IReadOnlyList<InstanceRecord>> ExpireAsync(IReadOnlyList<string> instanceIds, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instanceIds);
        await FlushRenewalsAsync(cancellationToken);
        var expired = new List<InstanceRecord>();
        // A pass may expire many ids: batches keep each script short (every instance is still expired atomically).
        foreach (var chunk in instanceIds.Chunk(BatchSize))
        {
            var arguments = WithIds([_prefix, ToUnixMilliseconds(now), (long)_expiryLag.TotalMilliseconds], chunk);
            expired.AddRange(ParseMany(await _redis.EvaluateAsync(RedisScripts.Expire, arguments, cancellationToken)));
        }
        foreach (var record in expired)
        {
            _leases?.Forget(record.InstanceId);
        }
        return expired;
    }

    public async ValueTask<IReadOnlyList<InstanceRecord>> RemoveExpiredAsync(DateTimeOffset now, TimeSpan retention, CancellationToken cancellationToken = default)
    {
        var cutoff = ToUnixMilliseconds(now - retention);
        var removed = new List<InstanceRecord>();
        while (true)
        {
            var reply = (RedisResult[])(await _redis.EvaluateAsync(RedisScripts.RemoveExpired, [_prefix, cutoff, BatchSize], cancellationToken))!;
            removed.AddRange(ParseMany(reply[1]));
            if ((int)reply[0] < BatchSize)
            {
                return removed;
            }
        }
    }

    private async Task<RegistryCounts> CountFromRedisAsync(CancellationToken cancellationToken)
    {
        var reply = (RedisResult[])(await _redis.EvaluateAsync(RedisScripts.Count, [_prefix], cancellationToken))!;
        int live = (int)reply[0], draining = (int)reply[1], expired = (int)reply[2];
        return new RegistryCounts(live - draining, draining, expired);
    }

    /// <summary>
    /// After an outage: moves every live instance's deadline to at least <paramref name="now"/> plus
    /// <paramref name="grace"/> (null: its own TTL), unless Redis heard from a replica other than
    /// <paramref name="replicaId"/> within the last <paramref name="margin"/>, by its own clock, one in
    /// contact without a break for the margin or longer (<c>replica_contact</c> and
    /// <c>replica_contact_since</c>, <see cref="TouchContactAsync"/>; a replica just started, or just back
    /// from an outage of its own, does not count): then Redis has been serving the others,
    /// agents could renew through them, and only this replica was cut off (or another back from the same
    /// outage has just extended the leases), <see cref="OnlyThisReplicaWasCutOff"/>. The decision rests on
    /// Redis's clock, not on what this replica saw of earlier outages, so one back after several extends
    /// whenever no other replica has reached Redis since. An extension notes this replica's contact.
    /// Returns how many deadlines moved, or <see cref="OnlyThisReplicaWasCutOff"/>.
    /// </summary>
    public async ValueTask<int> ExtendLeasesAsync(DateTimeOffset now, TimeSpan? grace, string replicaId, TimeSpan margin, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(replicaId);
        return (int)await _redis.EvaluateAsync(RedisScripts.ExtendLeases,
            [_prefix, ToUnixMilliseconds(now), (long)(grace ?? TimeSpan.Zero).TotalMilliseconds, replicaId, (long)margin.TotalMilliseconds],
            cancellationToken);
    }

    /// <summary>Tells Redis it heard from <paramref name="replicaId"/> now (by its own clock), for <see cref="ExtendLeasesAsync"/> of the others,
    /// and since when without a break (a touch more than <paramref name="margin"/> after the last begins a new run).
    /// Returns the time noted, by Redis's clock (ms).</summary>
    /// A touch that reaches Redis more than <paramref name="maxDelay"/> after <paramref name="sentAt"/> is not noted (answer 0).
    public async ValueTask<long> TouchContactAsync(string replicaId, DateTimeOffset sentAt, TimeSpan maxDelay, TimeSpan margin, CancellationToken cancellationToken = default) =>
        (long)await _redis.EvaluateAsync(RedisScripts.TouchContact,
            [_prefix, replicaId, ToUnixMilliseconds(sentAt), (long)maxDelay.TotalMilliseconds, (long)margin.TotalMilliseconds], cancellationToken);

    /// <summary><see cref="ExtendLeasesAsync"/>: Redis has been answering other replicas up to now; nothing extended.</summary>
    public const int OnlyThisReplicaWasCutOff = -2;

    public bool KnownUnreachable => _redis.Unreachable;

    public void Dispose() => _leases?.Dispose();

    public async ValueTask PingAsync(CancellationToken cancellationToken = default) =>
        await _redis.RunAsync(db => db.PingAsync(), cancellationToken);
}
