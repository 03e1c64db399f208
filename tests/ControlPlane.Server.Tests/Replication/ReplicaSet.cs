using ControlPlane.Server.Auth;
using ControlPlane.Server.Tests.Ops;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace ControlPlane.Server.Tests.Replication;

/// <summary>
/// Several control-plane replicas in this process on one real redis-server (one key prefix), each
/// the host as the README runs it with <c>ControlPlane:Store:Kind=redis</c>. With a shared virtual
/// clock, time moves only when a test advances it (debounce off, so each change is pushed at once);
/// otherwise the replicas run on the system clock.
/// </summary>
internal sealed class ReplicaSet : IAsyncDisposable
{
    public const string Token = "replica-set-test-token-0123456789";

    private readonly List<Replica> _replicas;
    private ConnectionMultiplexer? _admin;

    private ReplicaSet(RedisServer redis, string prefix, List<Replica> replicas, ManualTimeProvider? clock)
    {
        Redis = redis;
        Prefix = prefix;
        _replicas = replicas;
        Clock = clock;
    }

    public RedisServer Redis { get; }

    public string Prefix { get; }

    public ManualTimeProvider? Clock { get; }

    public IReadOnlyList<Replica> Replicas => _replicas;

    public Replica this[int index] => _replicas[index];

    /// <summary>Starts <paramref name="count"/> replicas ("cp-a", "cp-b" ...) and waits until each is warm and in step with the store.</summary>
    public static async Task<ReplicaSet> StartAsync(RedisServer redis, int count, ManualTimeProvider? clock = null, string prefix = "rs:", params string[] args)
    {
        var replicas = new List<Replica>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                replicas.Add(await StartReplicaAsync(redis, $"cp-{(char)('a' + i)}", prefix, clock, args));
            }
        }
        catch
        {
            foreach (var replica in replicas)
            {
                await replica.DisposeAsync();
            }
            throw;
        }
        return new ReplicaSet(redis, prefix, replicas, clock);
    }

    /// <summary>Starts one more replica on the same store.</summary>
    public async Task<Replica> AddReplicaAsync(string id, params string[] args)
    {
        var replica = await StartReplicaAsync(Redis, id, Prefix, Clock, args);
        _replicas.Add(replica);
        return replica;
    }

    /// <summary>Starts one more replica on the same store without waiting for it to be warm or in step (Redis may be down).</summary>
    public async Task<Replica> AddReplicaUnreadyAsync(string id, params string[] args)
    {
        var replica = await StartReplicaAsync(Redis, id, Prefix, Clock, args, waitForStore: false);
        _replicas.Add(replica);
        return replica;
    }

    private static async Task<Replica> StartReplicaAsync(RedisServer redis, string id, string prefix, ManualTimeProvider? clock, string[] args, bool waitForStore = true)
    {
        string[] settings =
        [
            "--ControlPlane:Store:Kind=redis", $"--ControlPlane:Store:Redis:Url={redis.Url}", $"--ControlPlane:Store:Redis:KeyPrefix={prefix}",
            $"--ControlPlane:Discovery:ControlPlaneId={id}", .. clock is null ? Array.Empty<string>() : ["--ControlPlane:Discovery:DebounceWindow=00:00:00"], .. args,
        ];
        var host = await ControlPlaneFixture.StartWithServicesAsync(
            services =>
            {
                services.AddSingleton(PlatformToken.FromValue(Token));
                if (clock is not null)
                {
                    services.AddSingleton<TimeProvider>(clock);
                }
            },
            settings);
        var replica = new Replica(id, host);
        if (!waitForStore)
        {
            return replica;
        }
        await replica.Cache.WhenWarm.DefaultTimeout();
        await Eventually.WaitAsync($"replica {id} to be in step with the store", () => replica.Follower.AppliedRevision >= 0);
        return replica;
    }

    /// <summary>
    /// Waits for <paramref name="condition"/> on virtual time: the replicas' expiry passes run
    /// asynchronously (they wait for Redis) and re-arm their timers when done, possibly for a moment
    /// the clock has already passed; such timers fire on the next advance, so each poll advances by zero.
    /// </summary>
    public Task WaitFiringTimersAsync(string what, Func<Task<bool>> condition) =>
        Eventually.WaitAsync(what, () =>
        {
            Clock!.Advance(TimeSpan.Zero);
            return condition();
        });

    public Task WaitFiringTimersAsync(string what, Func<bool> condition) => WaitFiringTimersAsync(what, () => Task.FromResult(condition()));

    /// <summary>
    /// Waits for <paramref name="condition"/> while virtual time passes, a second per poll but at most
    /// <paramref name="upTo"/> in all: for passes that retry a second after failing (a pass still
    /// failing as the store came back).
    /// </summary>
    public Task WaitWhileTimePassesAsync(string what, Func<bool> condition, TimeSpan upTo, TimeSpan? step = null)
    {
        var end = Clock!.GetUtcNow() + upTo;
        var by = step ?? TimeSpan.FromSeconds(1);
        return Eventually.WaitAsync(what, () =>
        {
            Clock.Advance(Clock.GetUtcNow() < end ? by : TimeSpan.Zero);
            return Task.FromResult(condition());
        });
    }

    /// <summary>A plain client on the same Redis (admin commands allowed), for what a test does behind the replicas' backs.</summary>
    public IDatabase Database => Admin().GetDatabase();

    public IServer Server => Admin().GetServer("127.0.0.1", Redis.Port);

    private ConnectionMultiplexer Admin() =>
        _admin ??= ConnectionMultiplexer.Connect(new ConfigurationOptions { EndPoints = { { "127.0.0.1", Redis.Port } }, AllowAdmin = true, AbortOnConnectFail = false });

    /// <summary>
    /// A change as a replica whose PUBLISH was lost would leave it: <paramref name="instanceId"/> drained, the
    /// revision taken and logged, but no message. Returns the revision.
    /// </summary>
    public async Task<long> DrainWithoutAnnouncingAsync(string instanceId, string image)
    {
        const string Script = """
            local P = ARGV[1]
            local key = P .. 'inst:' .. ARGV[2]
            redis.call('SET', key, (string.gsub(redis.call('GET', key), '"status":"healthy"', '"status":"draining"', 1)))
            redis.call('SADD', P .. 'inst_draining', ARGV[2])
            local rev = redis.call('INCR', P .. 'change_rev')
            redis.call('ZADD', P .. 'change_log', rev, rev .. ' endpoints ' .. ARGV[3])
            return rev
            """;
        return (long)await Database.ScriptEvaluateAsync(Script, null, [Prefix, instanceId, image]).DefaultTimeout();
    }

    /// <summary>The store's revision (<c>change_rev</c>).</summary>
    public async Task<long> RevisionAsync() => (long)await Database.StringGetAsync(Prefix + "change_rev").DefaultTimeout();

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }
        _admin?.Dispose();
    }
}
