using StackExchange.Redis;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// The change feed on Redis: the scripts that change what nodes are sent INCR <c>change_rev</c>,
/// append "&lt;revision&gt; &lt;kind&gt; &lt;name&gt;" to the <c>change_log</c> sorted set (the newest
/// 10,000, scored by revision) and PUBLISH it on the <c>changes</c> channel (a script's changes in one
/// message, a line each), all in the same script
/// (Scripts/_changes.lua). <c>change_epoch</c> names the revision sequence; the server's run id
/// tells a restarted Redis (which may have lost its last revisions) from the one seen before.
/// </summary>
internal sealed class RedisChangeFeed : IChangeFeed
{
    private readonly RedisConnection _redis;
    private readonly RedisChannel _channel;

    public RedisChangeFeed(RedisConnection redis)
    {
        ArgumentNullException.ThrowIfNull(redis);
        _redis = redis;
        _channel = new RedisChannel(redis.KeyPrefix + "changes", RedisChannel.PatternMode.Literal);
    }

    public IDisposable Subscribe(Action<StoreChange> onChange, Action onReconnected)
    {
        ArgumentNullException.ThrowIfNull(onChange);
        ArgumentNullException.ThrowIfNull(onReconnected);
        var subscription = new Subscription(this, onChange, onReconnected);
        _redis.Reconnected += subscription.OnReconnected;
        // A missed start is covered by the follower's first read.
        _redis.Subscribe(_channel, subscription.OnMessage);
        return subscription;
    }

    public async ValueTask<ChangeLogRead> ReadSinceAsync(long afterRevision, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        var serverId = await _redis.RunAsync(async db => ServerId((string?)await db.ExecuteAsync("INFO", "server")), cancellationToken);
        var reply = (RedisResult[])(await _redis.EvaluateAsync(RedisScripts.ChangesSince, [_redis.KeyPrefix, afterRevision, limit], cancellationToken))!;
        var changes = new List<StoreChange>();
        foreach (var entry in (RedisResult[])reply[3]!)
        {
            if (StoreChange.TryParse((string?)entry, out var change))
            {
                changes.Add(change);
            }
        }
        long? oldest = reply[2].IsNull ? null : RedisInstanceRecords.Score(reply[2]);
        return new ChangeLogRead((string)reply[0]!, serverId, (long)reply[1], oldest, changes);
    }

    public async ValueTask<Resources.StorePosition?> ReadPositionAsync(CancellationToken cancellationToken = default)
    {
        var values = await _redis.RunAsync(db => db.StringGetAsync([_redis.KeyPrefix + "change_epoch", _redis.KeyPrefix + "change_rev"]), cancellationToken);
        return values[0].IsNullOrEmpty ? null : new Resources.StorePosition(values[0]!, values[1].IsNull ? 0 : (long)values[1]);
    }

    /// <summary>The run_id line of INFO server: random per server process.</summary>
    private static string ServerId(string? info)
    {
        foreach (var line in (info ?? "").Split('\n'))
        {
            if (line.StartsWith("run_id:", StringComparison.Ordinal))
            {
                return line["run_id:".Length..].Trim();
            }
        }
        return "";
    }

    private sealed class Subscription(RedisChangeFeed feed, Action<StoreChange> onChange, Action onReconnected) : IDisposable
    {
        private int _disposed;

        /// <summary>A message carries one change per line, in revision order (a script that changes several resources sends one message).</summary>
        public void OnMessage(RedisChannel channel, RedisValue message)
        {
            if (Volatile.Read(ref _disposed) != 0)
            {
                return;
            }
            foreach (var line in ((string?)message ?? "").Split('\n'))
            {
                if (StoreChange.TryParse(line, out var change))
                {
                    onChange(change);
                }
            }
        }

        public void OnReconnected(ConnectionType type)
        {
            if (Volatile.Read(ref _disposed) == 0)
            {
                onReconnected();
            }
        }

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                feed._redis.Reconnected -= OnReconnected;
                feed._redis.Unsubscribe(feed._channel, OnMessage);
            }
        }
    }
}
