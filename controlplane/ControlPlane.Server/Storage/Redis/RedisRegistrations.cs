using ControlPlane.Grpc;
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

    private const int ArgumentsEach = 11;

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

    /// <summary>Registers <paramref name="spec"/> at <paramref name="now"/> (the store's answer, the record built from the spec and register.lua's reply).</summary>
    public async ValueTask<RegisterOutcome> RegisterAsync(InstanceSpec spec, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var nowMs = RedisInstanceRecords.ToUnixMilliseconds(now);
        RedisValue[] arguments =
        [
            spec.InstanceId, spec.Name, spec.Image, spec.Host, spec.Port, spec.Region, MetadataJson.ToJson(spec.MetadataBytes.Span),
            spec.TtlSeconds, nowMs, RedisInstanceRecords.EndpointField(spec.Host, spec.Port), Expires(spec, nowMs),
        ];
        var entry = new Entry(arguments);
        var batch = _commit.Add(entry, static (b, e) => e.Slot = b.Add(e.Arguments));
        await batch.Written.WaitAsync(cancellationToken).ConfigureAwait(false);
        var (items, at) = batch.Replies[entry.Slot];
        return Answer(spec, nowMs, items, at);
    }

    /// <summary>
    /// One registration's answer from its part of register.lua's reply, at <paramref name="at"/>: the
    /// stored record is the spec as sent, with the lease register.lua wrote (now + TTL) and, when it
    /// was already registered, its status and first registration as Redis held them.
    /// </summary>
    private static RegisterOutcome Answer(InstanceSpec spec, long nowMs, RedisResult[] items, int at)
    {
        var now = RedisInstanceRecords.FromUnixMilliseconds(nowMs);
        var expires = RedisInstanceRecords.FromUnixMilliseconds(Expires(spec, nowMs));
        return (string?)items[at] switch
        {
            "created" => new RegisterOutcome(RegisterResult.Created, new InstanceRecord(spec, InstanceStatus.Healthy, now, now, expires, null), null),
            "updated" => new RegisterOutcome(
                RegisterResult.Updated,
                new InstanceRecord(spec, RedisInstanceRecords.ParseStatus(spec.InstanceId, (string?)items[at + 1]), RedisInstanceRecords.FromUnixMilliseconds((long)items[at + 2]), now, expires, null),
                null),
            "duplicate_instance_id" => new RegisterOutcome(RegisterResult.DuplicateInstanceId, null, RedisInstanceRecords.Parse(items[at + 1])),
            "port_conflict" => new RegisterOutcome(RegisterResult.PortConflict, null, RedisInstanceRecords.Parse(items[at + 1])),
            // A record in the way that is not one (written by something else): this registration alone fails, nothing written for it.
            "unreadable_record" => throw RpcErrors.Exception(StatusCode.Internal, "store_record_unreadable",
                $"registering {spec.InstanceId} needs a stored record that cannot be read ({(string?)items[at + 1]}); remove or repair that key"),
            var other => throw new InvalidDataException($"register.lua answered '{other}'."),
        };
    }

    /// <summary>The lease deadline a registration at <paramref name="nowMs"/> writes, in unix ms.</summary>
    private static long Expires(InstanceSpec spec, long nowMs) => nowMs + (spec.TtlSeconds * 1000L);

    /// <summary>How many reply items one registration's outcome takes (itself included).</summary>
    private static int ItemsOf(RedisResult outcome) => (string?)outcome switch
    {
        "created" => 1,
        "updated" => 3,
        _ => 2,
    };

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
        var replies = new (RedisResult[] Items, int At)[batch.Count];
        for (var c = 0; c < calls.Count; c++)
        {
            var items = (RedisResult[])(await calls[c].ConfigureAwait(false))!;
            var slot = c * CallSize;
            for (var at = 0; at < items.Length; at += ItemsOf(items[at]))
            {
                replies[slot++] = (items, at);
            }
        }
        batch.Replies = replies;
    }

    /// <summary>The registrations waiting for one write, in the order they came.</summary>
    private sealed class Batch : GroupBatch
    {
        public List<RedisValue[]> Arguments { get; } = [];

        /// <summary>Per slot, once written: the reply of its script call, and where its part starts.</summary>
        public (RedisResult[] Items, int At)[] Replies { get; set; } = [];

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
