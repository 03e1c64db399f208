using System.Collections.Concurrent;
using StackExchange.Redis;
using static ControlPlane.Server.Storage.Redis.RedisInstanceRecords;
using ControlPlane.Hosting;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// A replica's lease table: the renewals it answered from memory, written to Redis every checkpoint
/// interval (as etcd's leader keeps lease renewals in memory and checkpoints them, and Consul's leader
/// renews session TTLs in memory). A heartbeat for an id the table knows (and whose lease has not
/// ended) is answered at once: renewed, with the status last known from Redis and the deadline beat
/// time + TTL. Other ids take the exact path (<see cref="RedisRenewals"/>: answered once Redis holds
/// them) and their answers seed the table; ids not found are not kept. While Redis is known to be
/// unreachable every id takes the exact path, so a beat refused as unavailable is never in the table,
/// and never written later.
/// <para>
/// A checkpoint writes each id renewed since the last one, once, with renew.lua; its answers refresh the
/// table (an id Redis no longer has is dropped, so its next beat answers not found; draining and the TTL
/// come from Redis). A checkpoint that fails keeps its renewals for the next one. Redis's deadlines may
/// so lag the answers by one interval: the expiry scan allows for that (<see cref="RedisStoreOptions.ExpiryLag"/>).
/// </para>
/// <para>
/// So that every replica allows for it, whatever its own configuration, the table advertises this replica's
/// lag in Redis (<c>expiry_lags</c>, advertise_lag.lua) before it answers anything from memory, again at every
/// checkpoint, valid for the lag plus two intervals; the expiry scripts wait the longest lag advertised by a
/// replica still renewing its advertisement. While an advertisement could not be renewed, every id takes the
/// exact path.
/// </para>
/// </summary>
internal sealed class RedisLeaseTable : IDisposable
{
    private readonly ConcurrentDictionary<string, Lease> _leases = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _checkpointLock = new(1, 1);
    private readonly RedisConnection _redis;
    private readonly RedisValue _prefix;
    private readonly RedisRenewals _exact;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly ITimer _timer;
    private readonly long _intervalMs;
    private readonly long _lagMs;
    private readonly string _replicaId = Guid.NewGuid().ToString("N");
    private int _active;
    private int _stopping;

    // Whether this replica's lag is advertised in Redis: only then are renewals answered from memory.
    private volatile bool _advertised;

    // When the checkpoint running now started (clock ms; 0: none runs). One that has waited on Redis past
    // a quarter of the interval means Redis is slow or cut off: renewals answered from memory then might
    // never reach it before another replica expires them, so they are answered once Redis holds them.
    private long _checkpointSince;
    private readonly long _stallMs;

    public RedisLeaseTable(RedisConnection redis, RedisRenewals exact, TimeSpan interval, TimeSpan expiryLag, TimeProvider clock, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(exact);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(expiryLag, TimeSpan.Zero);
        _intervalMs = (long)interval.TotalMilliseconds;
        _lagMs = (long)expiryLag.TotalMilliseconds;
        _stallMs = Math.Max(_intervalMs / 4, 1);
        _redis = redis;
        _prefix = redis.KeyPrefix;
        _exact = exact;
        _clock = clock;
        _logger = logger;
        _timer = clock.CreateBackgroundTimer(static s => ((RedisLeaseTable)s!).OnTimer(), this, interval, interval);
    }

    /// <summary>The checkpoint the timer started last (tests wait on it).</summary>
    internal Task LastCheckpoint { get; private set; } = Task.CompletedTask;

    /// <summary>Ids the table holds (diagnostics, tests).</summary>
    internal int Count => _leases.Count;

    public ValueTask<RenewOutcome[]> RenewAsync(IReadOnlyList<string> ids, int ttlSeconds, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var time = ToUnixMilliseconds(now);
        var outcomes = new RenewOutcome[ids.Count];
        List<int>? misses = null;
        if (_advertised && !_redis.Unreachable && !CheckpointStalled(time) && Enter())
        {
            try
            {
                for (var i = 0; i < ids.Count; i++)
                {
                    if (!TryRenew(ids[i], ttlSeconds, time, out outcomes[i]))
                    {
                        (misses ??= []).Add(i);
                    }
                }
            }
            finally
            {
                Interlocked.Decrement(ref _active);
            }
            if (misses is null)
            {
                return ValueTask.FromResult(outcomes);
            }
        }
        return RenewExactlyAsync(ids, misses, outcomes, ttlSeconds, now, cancellationToken);
    }

    /// <summary>The ids the table could not answer (null: all of them), answered once Redis holds them; their answers seed the table.</summary>
    private async ValueTask<RenewOutcome[]> RenewExactlyAsync(
        IReadOnlyList<string> ids, List<int>? misses, RenewOutcome[] outcomes, int ttlSeconds, DateTimeOffset now, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> missed = misses is null ? ids : [.. misses.Select(i => ids[i])];
        if (!_advertised && Volatile.Read(ref _stopping) == 0)
        {
            // Before the answers seed the table: other replicas must allow for its lag first.
            await AdvertiseAsync(ToUnixMilliseconds(_clock.GetUtcNow())).ConfigureAwait(false);
        }
        var answers = await _exact.RenewAsync(missed, ttlSeconds, now, cancellationToken).ConfigureAwait(false);
        var time = ToUnixMilliseconds(now);
        for (var j = 0; j < answers.Length; j++)
        {
            outcomes[misses is null ? j : misses[j]] = answers[j];
            Seed(missed[j], time, answers[j]);
        }
        return outcomes;
    }

    private bool TryRenew(string id, int ttlSeconds, long time, out RenewOutcome outcome)
    {
        outcome = default!;
        if (!_leases.TryGetValue(id, out var lease))
        {
            return false;
        }
        lock (lease)
        {
            // A lease that has ended may have been expired by any replica: Redis decides.
            if (lease.Dropped || lease.BeatTime + (lease.Ttl * 1000L) < time)
            {
                return false;
            }
            if (ttlSeconds > 0 && ttlSeconds != lease.Ttl)
            {
                // A unary heartbeat's TTL is the instance's TTL from now on (written at the checkpoint).
                lease.Ttl = ttlSeconds;
                lease.TtlPending = true;
            }
            lease.BeatTime = Math.Max(lease.BeatTime, time);
            outcome = new RenewOutcome(
                RenewResult.Renewed, lease.Draining ? InstanceStatus.Draining : InstanceStatus.Healthy, lease.Ttl, FromUnixMilliseconds(time + (lease.Ttl * 1000L)));
            return true;
        }
    }

    /// <summary>Takes in an answer Redis gave for a renewal written at <paramref name="time"/>.</summary>
    private void Seed(string id, long time, RenewOutcome answer)
    {
        if (answer.Result != RenewResult.Renewed)
        {
            Forget(id);
            return;
        }
        if (Volatile.Read(ref _stopping) == 1)
        {
            return;
        }
        var deadline = ToUnixMilliseconds(answer.ExpiresAt);
        var lease = _leases.GetOrAdd(id, static (_, s) => new Lease { BeatTime = s.time, Ttl = s.answer.TtlSeconds, Checkpointed = s.deadline }, (time, answer, deadline));
        lock (lease)
        {
            lease.BeatTime = Math.Max(lease.BeatTime, time);
            lease.Checkpointed = Math.Max(lease.Checkpointed, deadline);
            lease.Draining = answer.Status == InstanceStatus.Draining;
            if (!lease.TtlPending)
            {
                lease.Ttl = answer.TtlSeconds;
            }
        }
    }

    /// <summary>Drops an id (deregistered, expired or registered again here: its next beat asks Redis).</summary>
    public void Forget(string id)
    {
        if (_leases.TryRemove(id, out var lease))
        {
            lock (lease)
            {
                lease.Dropped = true;
            }
        }
    }

    /// <summary>A status change made on this replica shows in the next answers at once.</summary>
    public void SetDraining(string id, bool draining)
    {
        if (_leases.TryGetValue(id, out var lease))
        {
            lock (lease)
            {
                lease.Draining = draining;
            }
        }
    }

    /// <summary>
    /// What Redis holds of ids a change named (read by the change follower; the change may have been made
    /// on another replica): an id gone or expired is forgotten, so its next beat asks Redis (not found)
    /// instead of being answered renewed until the next checkpoint; a live one takes Redis's status and,
    /// unless a TTL from a beat here is still to be written, its TTL (registered again elsewhere).
    /// </summary>
    public void Refresh(IReadOnlyList<string> ids, IReadOnlyList<InstanceRecord?> records)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(records);
        for (var i = 0; i < ids.Count; i++)
        {
            if (records[i] is not { IsLive: true } record)
            {
                Forget(ids[i]);
            }
            else if (_leases.TryGetValue(ids[i], out var lease))
            {
                lock (lease)
                {
                    lease.Draining = record.Status == InstanceStatus.Draining;
                    if (!lease.TtlPending)
                    {
                        lease.Ttl = record.Spec.TtlSeconds;
                    }
                }
            }
        }
    }

    /// <summary>
    /// The whole registry as read from Redis (a reload, after the store started afresh, restarted or
    /// lost track of its changes): every id not among its live records is forgotten, so its next beat
    /// asks Redis (not found) instead of being answered renewed from memory for an instance the store
    /// no longer has. An id registered since the read is forgotten too, and its next beat merely asks Redis.
    /// </summary>
    public void Retain(IReadOnlyList<InstanceRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var live = new HashSet<string>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (record.IsLive)
            {
                live.Add(record.InstanceId);
            }
        }
        foreach (var id in _leases.Keys)
        {
            if (!live.Contains(id))
            {
                Forget(id);
            }
        }
    }

    /// <summary>A live record read from Redis, with this replica's renewals not yet written (when later than what Redis holds).</summary>
    public InstanceRecord Merge(InstanceRecord record)
    {
        if (!record.IsLive || !_leases.TryGetValue(record.InstanceId, out var lease))
        {
            return record;
        }
        long beat;
        int ttl;
        bool ttlPending;
        lock (lease)
        {
            (beat, ttl, ttlPending) = (lease.BeatTime, lease.Ttl, lease.TtlPending);
        }
        if (beat <= ToUnixMilliseconds(record.LastHeartbeatAt) && !ttlPending)
        {
            return record;
        }
        beat = Math.Max(beat, ToUnixMilliseconds(record.LastHeartbeatAt));
        return record with
        {
            Spec = ttlPending ? record.Spec with { TtlSeconds = ttl } : record.Spec,
            LastHeartbeatAt = FromUnixMilliseconds(beat),
            ExpiresAt = FromUnixMilliseconds(beat + (ttl * 1000L)),
        };
    }

    private bool CheckpointStalled(long now)
    {
        var since = Volatile.Read(ref _checkpointSince);
        return since != 0 && now - since > _stallMs;
    }

    private void OnTimer()
    {
        // A checkpoint still running (Redis slow) is not queued behind: the next tick takes what is pending.
        if (_checkpointLock.Wait(0))
        {
            LastCheckpoint = CheckpointLockedAsync(logFailure: true);
        }
    }

    /// <summary>Writes every renewal not yet in Redis now (after a running checkpoint); throws when the write fails (they stay pending).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        await _checkpointLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        await CheckpointLockedAsync(logFailure: false).ConfigureAwait(false);
    }

    /// <summary>
    /// Graceful stop: heartbeats from now on take the exact path; once those answered from the table
    /// have finished, the final checkpoint writes what they renewed.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        Volatile.Write(ref _stopping, 1);
        var spin = new SpinWait();
        while (Volatile.Read(ref _active) > 0)
        {
            spin.SpinOnce();
        }
        await _timer.DisposeAsync().ConfigureAwait(false);
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        // Nothing is held in memory any more: the others need not wait for this replica's lag.
        _advertised = false;
        try
        {
            await _redis.EvaluateAsync(RedisScripts.AdvertiseLag, [_prefix, _replicaId, -1, 0, ToUnixMilliseconds(_clock.GetUtcNow())], cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is StoreUnavailableException or RedisException)
        {
            // It lapses on its own within the lag plus two intervals.
        }
    }

    /// <summary>Advertises this replica's expiry lag until the lag plus two intervals from <paramref name="now"/>.</summary>
    private async Task AdvertiseAsync(long now)
    {
        try
        {
            await _redis.EvaluateAsync(RedisScripts.AdvertiseLag, [_prefix, _replicaId, _lagMs, now + _lagMs + (2 * _intervalMs), now], CancellationToken.None).ConfigureAwait(false);
            _advertised = Volatile.Read(ref _stopping) == 0;
        }
        catch
        {
            _advertised = false;
            throw;
        }
    }

    private bool Enter()
    {
        Interlocked.Increment(ref _active);
        if (Volatile.Read(ref _stopping) == 1)
        {
            Interlocked.Decrement(ref _active);
            return false;
        }
        return true;
    }

    /// <summary>One checkpoint; the caller holds <see cref="_checkpointLock"/>, released here.</summary>
    private async Task CheckpointLockedAsync(bool logFailure)
    {
        try
        {
            var now = ToUnixMilliseconds(_clock.GetUtcNow());
            Volatile.Write(ref _checkpointSince, now);
            if (_advertised)
            {
                try
                {
                    await AdvertiseAsync(now).ConfigureAwait(false);
                }
                catch (Exception ex) when (logFailure)
                {
                    // Answers from memory stop (see AdvertiseAsync) until an advertisement gets through.
                    RedisStoreLog.AdvertiseFailed(_logger, ex);
                }
            }
            var ids = new List<string>();
            var sent = new List<(Lease Lease, long Time, int Ttl)>();
            foreach (var (id, lease) in _leases)
            {
                lock (lease)
                {
                    var deadline = lease.BeatTime + (lease.Ttl * 1000L);
                    if (deadline == lease.Checkpointed && !lease.TtlPending)
                    {
                        if (deadline < now)
                        {
                            // Not beaten here for a whole TTL: the agent left (or is gone); keep memory bounded.
                            _leases.TryRemove(KeyValuePair.Create(id, lease));
                        }
                        continue;
                    }
                    ids.Add(id);
                    sent.Add((lease, lease.BeatTime, lease.TtlPending ? lease.Ttl : 0));
                    lease.TtlPending = false;
                }
            }
            if (ids.Count == 0)
            {
                return;
            }
            long[] deadlines;
            try
            {
                deadlines = await RedisRenewals.WriteAsync(_redis, _prefix, ids, [.. sent.Select(s => s.Time)], [.. sent.Select(s => s.Ttl)]).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                foreach (var (lease, _, ttl) in sent.Where(s => s.Ttl > 0))
                {
                    lock (lease)
                    {
                        lease.TtlPending = true;
                    }
                }
                if (!logFailure)
                {
                    throw;
                }
                RedisStoreLog.CheckpointFailed(_logger, ex, ids.Count);
                return;
            }
            for (var i = 0; i < ids.Count; i++)
            {
                var (lease, time, _) = sent[i];
                if (deadlines[i] == 0)
                {
                    // Deregistered or expired elsewhere: the next beat asks Redis, which answers not found.
                    if (_leases.TryRemove(KeyValuePair.Create(ids[i], lease)))
                    {
                        lock (lease)
                        {
                            lease.Dropped = true;
                        }
                    }
                    continue;
                }
                var deadline = Math.Abs(deadlines[i]);
                lock (lease)
                {
                    lease.Checkpointed = deadline;
                    lease.Draining = deadlines[i] < 0;
                    if (!lease.TtlPending)
                    {
                        // Registered again elsewhere with another TTL: Redis's is the one.
                        lease.Ttl = (int)((deadline - time) / 1000);
                    }
                }
            }
        }
        finally
        {
            Volatile.Write(ref _checkpointSince, 0);
            _checkpointLock.Release();
        }
    }

    public void Dispose() => _timer.Dispose();

    /// <summary>One id's lease as this replica knows it; guarded by its own lock.</summary>
    private sealed class Lease
    {
        /// <summary>The latest beat (unix ms).</summary>
        public long BeatTime;

        public int Ttl;

        /// <summary>A unary heartbeat changed the TTL; the next checkpoint writes it.</summary>
        public bool TtlPending;

        public bool Draining;

        /// <summary>The deadline Redis holds as far as this replica knows (unix ms).</summary>
        public long Checkpointed;

        /// <summary>Removed from the table: a beat that found it just before must ask Redis.</summary>
        public bool Dropped;
    }
}
