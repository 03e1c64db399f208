using System.Globalization;
using ControlPlane.Server.Stats;
using StackExchange.Redis;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// Load counts on Redis (scale-out), with the embedded store's semantics, so that reports sent to
/// any replica count once. Keys (under the configured prefix), as the reference lays them out:
/// <c>lb:cnt:{window}:{metric}:{key}</c> (a counter; window = the 10 s bucket's start in unix
/// seconds, metric = req, bytes, 4xx, 5xx, lat0..lat15 for the latency buckets of
/// <see cref="LatencyBuckets"/>, key = the image or image/instance; only non-zero counters exist),
/// <c>lb:idx:{window}:img|inst</c> (a set: the keys counted in the bucket) and
/// <c>lb:idx:{window}:inst:{image}</c> (one image's instance keys, so that its stats read only those;
/// <c>lb:idx:{window}:inst-by-image</c> counts the keys so indexed), all expiring with the retention;
/// <c>lb:seq:{node}</c> (a hash: epoch → last accepted sequence) and <c>lb:epochs:{node}</c> (a sorted
/// set: epoch → when it last reported), expiring with the epoch retention. The sequence check and the
/// counting are one script (Scripts/apply_load.lua).
/// </summary>
internal sealed class RedisLoadStore : ILoadStore
{
    /// <summary>Counted keys one sum script call reads at most: bounds how long it holds Redis (a few ms).</summary>
    internal const int KeysPerCall = 500;

    /// <summary>Windows named in one sum script call (buckets without counts cost next to nothing).</summary>
    private const int WindowsPerCall = 400;

    private static readonly long Width = StatsOptions.BucketWidth.Ticks;
    private static readonly int Metrics = 4 + LatencyBuckets.Count;

    private readonly RedisConnection _redis;
    private readonly StatsOptions _options;
    private readonly TimeProvider _time;

    public RedisLoadStore(RedisConnection redis, StatsOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _redis = redis;
        _options = options;
        _time = time;
    }

    public async ValueTask<ReportResult> ApplyAsync(ReportKey key, ulong sequence, LoadBatch batch, DateTimeOffset receivedAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var index = receivedAt.UtcTicks / Width;
        // Counters live until their bucket leaves the retention (at least a second).
        var ttl = Math.Max(1, (long)Math.Ceiling((new DateTimeOffset((index + 1) * Width, TimeSpan.Zero) + _options.Retention - receivedAt).TotalSeconds));
        var arguments = new List<RedisValue>(10 + batch.Images.Sum(i => 1 + i.Instances.Count) * (2 + Metrics))
        {
            _redis.KeyPrefix, key.NodeId, key.Epoch, Text(sequence), sequence == 0 ? "" : Text(sequence - 1), WindowOf(index), ttl,
            receivedAt.ToUnixTimeMilliseconds(), (long)_options.EpochRetention.TotalMilliseconds, _options.MaxEpochsPerNode,
        };
        foreach (var image in batch.Images)
        {
            Add(arguments, "img", image.Image, image.Counts);
            foreach (var instance in image.Instances)
            {
                Add(arguments, "inst", image.Image + "/" + instance.InstanceId, instance.Counts);
            }
        }
        var reply = (RedisResult[])(await _redis.EvaluateAsync(RedisScripts.ApplyLoad, [.. arguments], cancellationToken))!;
        var last = ulong.Parse((string)reply[1]!, CultureInfo.InvariantCulture);
        return (string?)reply[0] switch
        {
            "accepted" => new ReportResult(ReportDisposition.Accepted, last),
            "duplicate" => new ReportResult(ReportDisposition.Duplicate, last),
            "gap" => new ReportResult(ReportDisposition.Gap, last),
            var other => throw new InvalidDataException($"apply_load.lua answered '{other}'."),
        };
    }

    public async ValueTask<ulong> LastAcceptedAsync(ReportKey key, CancellationToken cancellationToken = default)
    {
        // apply_load.lua's seq_key: lb:seq:{node}, epoch -> last accepted sequence.
        var last = await _redis.RunAsync(db => db.HashGetAsync(_redis.KeyPrefix + "lb:seq:" + key.NodeId, key.Epoch), cancellationToken);
        return last.IsNull ? 0 : ulong.Parse((string)last!, CultureInfo.InvariantCulture);
    }

    public async ValueTask<IReadOnlyList<LoadTotal>> SumAsync(LoadScope scope, DateTimeOffset start, DateTimeOffset end, string? image, CancellationToken cancellationToken = default)
    {
        // Buckets that start in [start, end), as the embedded store sums them, and that have not
        // left the retention (their counters expire on Redis' clock; this keeps the answer exact).
        // The oldest bucket kept is the first that ends after now - retention.
        var first = Math.Max(CeilingIndex(start), (_time.GetUtcNow() - _options.Retention).UtcTicks / Width);
        var stop = CeilingIndex(end);
        var totals = new Dictionary<(string Image, string Instance), LoadCounts>();
        var windows = new List<RedisValue>();
        for (var index = first; index < stop; index++)
        {
            windows.Add(WindowOf(index));
        }
        // Each call reads at most KeysPerCall counted keys, from where the previous one stopped (a
        // window and an SSCAN cursor in it); SSCAN may return a key twice, which counts once.
        var done = 0;
        RedisValue cursor = "0";
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var seenWindow = -1;
        while (done < windows.Count)
        {
            var arguments = new List<RedisValue>(5 + Math.Min(windows.Count - done, WindowsPerCall))
            {
                _redis.KeyPrefix, scope == LoadScope.Images ? "img" : "inst", image ?? "", KeysPerCall, cursor,
            };
            arguments.AddRange(windows.Skip(done).Take(WindowsPerCall));
            var reply = (RedisResult[])(await _redis.EvaluateAsync(RedisScripts.SumLoad, [.. arguments], cancellationToken))!;
            var finished = (int)reply[0];
            for (var i = 2; i < reply.Length;)
            {
                var window = done + (int)reply[i] - 1;
                var counted = (string)reply[i + 1]!;
                var n = (int)reply[i + 2];
                if (window != seenWindow)
                {
                    seen.Clear(); // a window's keys never come back once the script has moved past it
                    seenWindow = window;
                }
                if (seen.Add(counted))
                {
                    var counts = new LoadCounts();
                    for (var p = 0; p < n; p++)
                    {
                        Set(counts, (int)reply[i + 3 + (2 * p)], long.Parse((string)reply[i + 4 + (2 * p)]!, CultureInfo.InvariantCulture));
                    }
                    var k = scope == LoadScope.Images ? (counted, "") : Split(counted);
                    if (totals.TryGetValue(k, out var total))
                    {
                        total.Add(counts);
                    }
                    else
                    {
                        totals.Add(k, counts);
                    }
                }
                i += 3 + (2 * n);
            }
            done += finished;
            cursor = reply[1].ToString();
        }
        return [.. totals
            .OrderBy(t => t.Key.Image, StringComparer.Ordinal).ThenBy(t => t.Key.Instance, StringComparer.Ordinal)
            .Select(t => new LoadTotal(t.Key.Image, t.Key.Instance, t.Value))];
    }

    private static void Add(List<RedisValue> arguments, string scope, string key, LoadCounts counts)
    {
        arguments.Add(scope);
        arguments.Add(key);
        arguments.Add(counts.Requests);
        arguments.Add(counts.BytesTx);
        arguments.Add(counts.Errors4xx);
        arguments.Add(counts.Errors5xx);
        foreach (var samples in counts.Latency)
        {
            arguments.Add(samples);
        }
    }

    private static void Set(LoadCounts counts, int metric, long value)
    {
        switch (metric)
        {
            case 0: counts.Requests = value; break;
            case 1: counts.BytesTx = value; break;
            case 2: counts.Errors4xx = value; break;
            case 3: counts.Errors5xx = value; break;
            default: counts.Latency[metric - 4] = value; break;
        }
    }

    /// <summary>image/instance → (image, instance): instance ids hold no '/', images may.</summary>
    private static (string, string) Split(string key)
    {
        var slash = key.LastIndexOf('/');
        return (key[..slash], key[(slash + 1)..]);
    }

    private static long CeilingIndex(DateTimeOffset at) => (at.UtcTicks + Width - 1) / Width;

    /// <summary>The bucket's start in unix seconds (the key's {window}).</summary>
    private static string WindowOf(long index) =>
        ((index * Width - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerSecond).ToString(CultureInfo.InvariantCulture);

    private static string Text(ulong value) => value.ToString(CultureInfo.InvariantCulture);
}
