using StackExchange.Redis;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// A replica's registrations, group-committed: each adds itself to the open batch; a writer (at most
/// two at a time) sends the batch as register.lua calls of up to <see cref="CallSize"/> registrations,
/// pipelined. The script runs them in order, each with its own guards and result, and records one
/// revision per changed image and one change message per call, instead of a script call, a revision
/// and a message (handled by every replica) per registration. A registration is answered once Redis
/// holds it; a write that fails fails every registration waiting on it with the same error.
/// </summary>
internal sealed class RedisRegistrations
{
    /// <summary>Registrations per script call: bounds how long one call holds Redis (a few milliseconds).</summary>
    internal const int CallSize = 64;

    private const int ArgumentsEach = 10;

    private readonly RedisConnection _redis;
    private readonly RedisValue _prefix;
    private readonly GroupCommit<Batch> _commit;

    public RedisRegistrations(RedisConnection redis)
    {
        ArgumentNullException.ThrowIfNull(redis);
        _redis = redis;
        _prefix = redis.KeyPrefix;
        _commit = new GroupCommit<Batch>(static () => new Batch(), WriteAsync, maxWrites: 2);
    }

    /// <summary>register.lua's answer for <paramref name="spec"/>: {outcome, record}.</summary>
    public async ValueTask<RedisResult[]> RegisterAsync(InstanceSpec spec, DateTimeOffset now, CancellationToken cancellationToken)
    {
        RedisValue[] arguments =
        [
            spec.InstanceId, spec.Name, spec.Image, spec.Host, spec.Port, spec.Region, spec.MetadataBytes.ToByteArray(),
            spec.TtlSeconds, RedisInstanceRecords.ToUnixMilliseconds(now), RedisInstanceRecords.EndpointField(spec.Host, spec.Port),
        ];
        var entry = new Entry(arguments);
        var batch = _commit.Add(entry, static (b, e) => e.Slot = b.Add(e.Arguments));
        await batch.Written.WaitAsync(cancellationToken).ConfigureAwait(false);
        return batch.Replies[entry.Slot];
    }

    private async Task WriteAsync(Batch batch)
    {
        var calls = new List<Task<RedisResult>>();
        for (var first = 0; first < batch.Count; first += CallSize)
        {
            var count = Math.Min(CallSize, batch.Count - first);
            var arguments = new RedisValue[1 + (ArgumentsEach * count)];
            arguments[0] = _prefix;
            for (var i = 0; i < count; i++)
            {
                batch.Arguments[first + i].CopyTo(arguments, 1 + (ArgumentsEach * i));
            }
            calls.Add(_redis.EvaluateAsync(RedisScripts.Register, arguments, CancellationToken.None));
        }
        // Every call is awaited (none left unobserved); the first failure fails the batch.
        await Task.WhenAll(calls).ConfigureAwait(false);
        var replies = new RedisResult[batch.Count][];
        for (var c = 0; c < calls.Count; c++)
        {
            var results = (RedisResult[])(await calls[c].ConfigureAwait(false))!;
            for (var i = 0; i < results.Length; i++)
            {
                replies[(c * CallSize) + i] = (RedisResult[])results[i]!;
            }
        }
        batch.Replies = replies;
    }

    /// <summary>The registrations waiting for one write, in the order they came.</summary>
    private sealed class Batch : GroupBatch
    {
        public List<RedisValue[]> Arguments { get; } = [];

        /// <summary>Per slot, once written: register.lua's {outcome, record}.</summary>
        public RedisResult[][] Replies { get; set; } = [];

        public override int Count => Arguments.Count;

        public int Add(RedisValue[] arguments)
        {
            Arguments.Add(arguments);
            return Arguments.Count - 1;
        }
    }

    /// <summary>One registration's script arguments, and its place in the batch it joined.</summary>
    private sealed class Entry(RedisValue[] arguments)
    {
        public RedisValue[] Arguments { get; } = arguments;

        public int Slot { get; set; }
    }
}
