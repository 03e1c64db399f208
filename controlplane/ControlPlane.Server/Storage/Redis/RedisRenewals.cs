using StackExchange.Redis;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// A replica's lease renewals, group-committed: every heartbeat (a stream's beat of up to 1000 ids,
/// or a unary heartbeat) adds its renewals to the open batch, each id once (a later renewal of an id
/// already waiting replaces its beat time, as if applied after it); a writer (at most two at a time, so
/// that Redis need not idle while one write's answers are handled; sent in order) sends the
/// batch as renew.lua calls of up to <see cref="RedisRegistryStore.BatchSize"/> ids, pipelined, and
/// every beat is answered from those results. So a beat is answered only once Redis holds its new
/// deadlines, and a write that fails fails every beat waiting on it with the same error.
/// </summary>
internal sealed class RedisRenewals
{
    private readonly RedisConnection _redis;
    private readonly RedisValue _prefix;
    private readonly GroupCommit<Batch> _commit;

    public RedisRenewals(RedisConnection redis)
    {
        ArgumentNullException.ThrowIfNull(redis);
        _redis = redis;
        _prefix = redis.KeyPrefix;
        _commit = new GroupCommit<Batch>(static () => new Batch(), WriteAsync, maxWrites: 2);
    }

    public async ValueTask<RenewOutcome[]> RenewAsync(IReadOnlyList<string> instanceIds, int ttlSeconds, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var slots = new int[instanceIds.Count];
        var batch = _commit.Add((Ids: instanceIds, Time: RedisInstanceRecords.ToUnixMilliseconds(now), Ttl: Math.Max(ttlSeconds, 0), Slots: slots), static (b, s) =>
        {
            for (var i = 0; i < s.Ids.Count; i++)
            {
                s.Slots[i] = b.Add(s.Ids[i], s.Time, s.Ttl);
            }
        });
        await batch.Written.WaitAsync(cancellationToken).ConfigureAwait(false);
        var outcomes = new RenewOutcome[slots.Length];
        for (var i = 0; i < slots.Length; i++)
        {
            outcomes[i] = batch.Outcome(slots[i]);
        }
        return outcomes;
    }

    private async Task WriteAsync(Batch batch) => batch.Deadlines = await WriteAsync(_redis, _prefix, batch.Ids, batch.Times, batch.Ttls).ConfigureAwait(false);

    /// <summary>
    /// Runs renew.lua for each id (once each) in calls of up to <see cref="RedisRegistryStore.BatchSize"/>,
    /// all sent before the first answer is awaited (one round trip, not one per call). Returns per id its new
    /// deadline (negated: draining), or 0 when not found; the first failed call fails the whole write.
    /// </summary>
    internal static async Task<long[]> WriteAsync(RedisConnection redis, RedisValue prefix, IReadOnlyList<string> ids, IReadOnlyList<long> times, IReadOnlyList<int> ttls)
    {
        var calls = new List<(int First, Task<RedisResult> Reply)>();
        for (var first = 0; first < ids.Count; first += RedisRegistryStore.BatchSize)
        {
            var count = Math.Min(RedisRegistryStore.BatchSize, ids.Count - first);
            var arguments = new RedisValue[1 + (3 * count)];
            arguments[0] = prefix;
            for (var i = 0; i < count; i++)
            {
                arguments[1 + (3 * i)] = ids[first + i];
                arguments[2 + (3 * i)] = times[first + i];
                arguments[3 + (3 * i)] = ttls[first + i];
            }
            calls.Add((first, redis.EvaluateAsync(RedisScripts.Renew, arguments, CancellationToken.None)));
        }
        // Every call is awaited (none left unobserved); the first failure fails the batch.
        await Task.WhenAll(calls.Select(c => c.Reply)).ConfigureAwait(false);
        var deadlines = new long[ids.Count];
        foreach (var (first, reply) in calls)
        {
            var results = (RedisResult[])(await reply.ConfigureAwait(false))!;
            for (var i = 0; i < results.Length; i++)
            {
                deadlines[first + i] = (long)results[i];
            }
        }
        return deadlines;
    }

    /// <summary>The renewals waiting for one write: one slot per id.</summary>
    private sealed class Batch : GroupBatch
    {
        private readonly Dictionary<string, int> _slots = new(StringComparer.Ordinal);

        public List<string> Ids { get; } = [];

        public List<long> Times { get; } = [];

        public List<int> Ttls { get; } = [];

        /// <summary>Per slot, once written: the new deadline (negated: draining), or 0 when not found.</summary>
        public long[] Deadlines { get; set; } = [];

        public override int Count => Ids.Count;

        /// <summary>
        /// The slot renewing <paramref name="id"/> at <paramref name="time"/>. An id already waiting keeps
        /// its slot, with the later time and the TTL of the latest heartbeat that set one: what applying
        /// the two renewals one after the other would leave.
        /// </summary>
        public int Add(string id, long time, int ttl)
        {
            if (_slots.TryGetValue(id, out var slot))
            {
                Times[slot] = Math.Max(Times[slot], time);
                if (ttl > 0)
                {
                    Ttls[slot] = ttl;
                }
                return slot;
            }
            slot = Ids.Count;
            _slots.Add(id, slot);
            Ids.Add(id);
            Times.Add(time);
            Ttls.Add(ttl);
            return slot;
        }

        public RenewOutcome Outcome(int slot)
        {
            var deadline = Deadlines[slot];
            if (deadline == 0)
            {
                return new RenewOutcome(RenewResult.NotFound, InstanceStatus.Expired, 0, default);
            }
            var expires = Math.Abs(deadline);
            return new RenewOutcome(
                RenewResult.Renewed,
                deadline < 0 ? InstanceStatus.Draining : InstanceStatus.Healthy,
                (int)((expires - Times[slot]) / 1000),
                RedisInstanceRecords.FromUnixMilliseconds(expires));
        }
    }
}
