using ControlPlane.Api.Auth;
using StackExchange.Redis;
using ControlPlane.Hosting;

namespace ControlPlane.Server.Storage.Redis;

/// <summary>
/// The one multiplexed connection both Redis stores share, and the one place where Redis failures
/// become <see cref="StoreUnavailableException"/>: connection lost, timeouts, and the server
/// answers that mean "not now" (loading, busy, read-only replica, out of memory, auth refused).
/// It reconnects by itself; until then every call fails fast. It also tells when the store became
/// unreachable (a call failed for that reason, or the connection dropped) and reachable again (the
/// first call that succeeded after), which the replicas' outage handling builds on.
/// <para>
/// A command that times out is not taken back: a Redis that hangs (paused, swapping) runs what it
/// was sent when it wakes. So once the store is known to be unreachable, a script that writes is
/// not sent until Redis answers a PING again (one PING at a time, shared by the writes waiting on
/// it): a write refused as unavailable then is never applied later. One already sent when Redis
/// hung may still be, as any request that times out may have been carried out.
/// </para>
/// <para>
/// A client whose connection stays down longer than <see cref="RedisStoreOptions.StuckConnectionTimeout"/>
/// is replaced by a fresh one (its subscriptions carried over): StackExchange.Redis 1.x can leave a
/// connection "connecting" for good (its issue #194), and a replica would then stay unready until
/// restarted. Replacing a client while Redis is really down costs a connect attempt, nothing more.
/// </para>
/// </summary>
internal sealed class RedisConnection : IDisposable
{
    // Server errors that say the server cannot do the work now, not that the request is wrong.
    private static readonly string[] UnavailableReplies = ["LOADING", "BUSY", "MASTERDOWN", "READONLY", "NOREPLICAS", "OOM", "NOAUTH", "WRONGPASS", "NOPERM", "CLUSTERDOWN", "TRYAGAIN"];

    private readonly ConfigurationOptions _configuration;
    private readonly ILogger _logger;
    private readonly TimeSpan _commandTimeout;
    private readonly TimeSpan _stuckTimeout;
    private readonly TimeProvider _clock;
    private readonly Lock _probeLock = new();
    private readonly Lock _clientLock = new();
    private readonly List<(RedisChannel Channel, Action<RedisChannel, RedisValue> Handler)> _subscriptions = [];
    private readonly ITimer? _watchdog;
    private volatile Client _client;
    private Task<bool>? _probe;
    private int _unavailable;
    private long _downSince;
    private long _lastAnswer;
    private bool _answered;
    private int _replacing;
    private int _replacements;
    private bool _disposed;

    private RedisConnection(ConnectionMultiplexer multiplexer, ConfigurationOptions configuration, RedisStoreOptions options, TimeProvider clock, ILogger logger)
    {
        _configuration = configuration;
        _logger = logger;
        _commandTimeout = options.CommandTimeout;
        _stuckTimeout = options.StuckConnectionTimeout;
        _clock = clock;
        _lastAnswer = clock.GetTimestamp();
        KeyPrefix = options.KeyPrefix;
        _client = Attach(multiplexer);
        if (_stuckTimeout > TimeSpan.Zero)
        {
            // Checked a few times per timeout, so a stuck client goes within about 1.25 timeouts of its last connection.
            var every = TimeSpan.FromTicks(Math.Max(_stuckTimeout.Ticks / 4, TimeSpan.TicksPerMillisecond));
            _watchdog = clock.CreateBackgroundTimer(static s => ((RedisConnection)s!).CheckStuck(), this, every, every);
        }
    }

    /// <summary>Put before every key (see <see cref="RedisStoreOptions.KeyPrefix"/>).</summary>
    public string KeyPrefix { get; }

    /// <summary>The current client's database (a replaced client's calls fail as unavailable).</summary>
    public IDatabase Database => _client.Database;

    /// <summary>How many times a client stuck without a connection was replaced.</summary>
    internal int Replacements => Volatile.Read(ref _replacements);

    /// <summary>The client's own account of its connections (for diagnostics).</summary>
    internal string Status => _client.Multiplexer.GetStatus();

    /// <summary>True from a failure that means "unavailable" until the next call that succeeds.</summary>
    public bool Unreachable => Volatile.Read(ref _unavailable) == 1;

    /// <summary>True once Redis has answered any call of this connection.</summary>
    public bool HasAnswered => Volatile.Read(ref _answered);

    /// <summary>How long ago Redis last answered a call (since this connection was made, before the first answer).</summary>
    public TimeSpan SinceLastAnswer => _clock.GetElapsedTime(Volatile.Read(ref _lastAnswer));

    /// <summary>Raised once when the store becomes unreachable; handlers must be quick and must not throw.</summary>
    public event Action? BecameUnreachable;

    /// <summary>Raised once when a call succeeds after the store was unreachable; handlers must be quick and must not throw.</summary>
    public event Action? BecameReachable;

    /// <summary>Raised when a connection (interactive or subscription) is restored; handlers must be quick and must not throw.</summary>
    public event Action<ConnectionType>? Reconnected;

    /// <summary>
    /// Connects (or keeps trying in the background: a Redis that is down at start-up makes the
    /// server not ready, not fail). The password is read from <see cref="RedisStoreOptions.PasswordVariable"/>
    /// or the file named by <see cref="RedisStoreOptions.PasswordFileVariable"/>.
    /// </summary>
    public static RedisConnection Connect(RedisStoreOptions options, ILogger logger, Func<string, string?>? getVariable = null, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        var url = RedisUrl.Parse(options.Url);
        var (password, source) = SecretSource.Read(RedisStoreOptions.PasswordVariable, RedisStoreOptions.PasswordFileVariable, getVariable);
        var configuration = new ConfigurationOptions
        {
            AbortOnConnectFail = false,
            DefaultDatabase = url.Database,
            Ssl = url.Tls,
            SslHost = url.Tls ? url.Host : null,
            Password = string.IsNullOrEmpty(password) ? null : password,
            ConnectTimeout = (int)options.ConnectTimeout.TotalMilliseconds,
            SyncTimeout = (int)options.CommandTimeout.TotalMilliseconds,
            ResponseTimeout = (int)options.CommandTimeout.TotalMilliseconds,
            ClientName = "controlplane",
        };
        configuration.EndPoints.Add(url.Host, url.Port);
        if (url.Tls && !string.IsNullOrEmpty(options.TlsCaFile))
        {
            configuration.CertificateValidation += RedisTls.TrustOnly(options.TlsCaFile);
        }
        RedisStoreLog.Connecting(logger, url.ToString(), options.KeyPrefix, string.IsNullOrEmpty(password) ? "none" : source);
        return new RedisConnection(ConnectionMultiplexer.Connect(configuration), configuration, options, clock ?? TimeProvider.System, logger);
    }

    /// <summary>
    /// Subscribes <paramref name="handler"/> to <paramref name="channel"/> on the pub/sub side of the
    /// connection (its own socket): the client subscribes again after every reconnect, and a client
    /// that replaces a stuck one subscribes it too. A failure here is only a missed start.
    /// </summary>
    public void Subscribe(RedisChannel channel, Action<RedisChannel, RedisValue> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        // Under the lock, so a client replacing this one has every subscription, each once.
        lock (_clientLock)
        {
            _subscriptions.Add((channel, handler));
            Observe(_client.Multiplexer.GetSubscriber().SubscribeAsync(channel, handler));
        }
    }

    public void Unsubscribe(RedisChannel channel, Action<RedisChannel, RedisValue> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        lock (_clientLock)
        {
            _subscriptions.Remove((channel, handler));
            Observe(_client.Multiplexer.GetSubscriber().UnsubscribeAsync(channel, handler));
        }
    }

    /// <summary>Takes a task nobody awaits any more off the unobserved-exception path.</summary>
    internal static void Observe(Task task) => task.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);

    /// <summary>
    /// Runs a script; Redis failures that mean "unavailable" become <see cref="StoreUnavailableException"/>.
    /// A script that writes, while the store is known to be unreachable, is sent only once a PING is
    /// answered; it waits for that at most <see cref="ProbeWait"/> (a Redis that is back answers at
    /// once), so that during an outage writes are refused quickly, not after a command timeout each.
    /// </summary>
    public async Task<RedisResult> EvaluateAsync(RedisScript script, RedisValue[] arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(script);
        if (script.Writes && Unreachable && !await ProbeAsync().WaitAsync(cancellationToken))
        {
            throw new StoreUnavailableException($"Redis is unavailable: {script.Name} not sent, Redis has not answered since it became unreachable");
        }
        return await RunAsync(db => script.EvaluateAsync(db, arguments), cancellationToken);
    }

    /// <summary>How long a read that memory can answer waits on Redis (<see cref="StoreMirror.ReadAsync"/>): as long as any call once Redis is known unreachable.</summary>
    internal TimeSpan ReadPatience => ProbeWait;

    /// <summary>The clock calls are timed by.</summary>
    internal TimeProvider Clock => _clock;

    /// <summary>The longest any call waits on Redis while it is known to be unreachable (so also the PING a write waits for).</summary>
    private TimeSpan ProbeWait => _commandTimeout < TimeSpan.FromSeconds(1) ? _commandTimeout : TimeSpan.FromSeconds(1);

    /// <summary>True when Redis answers a PING (then it is reachable again); one PING in flight at a time.</summary>
    private Task<bool> ProbeAsync()
    {
        lock (_probeLock)
        {
            if (_probe is null || _probe.IsCompleted)
            {
                _probe = PingAsync();
            }
            return _probe;
        }

        async Task<bool> PingAsync()
        {
            try
            {
                await RunAsync(db => db.PingAsync(), CancellationToken.None);
                return true;
            }
            catch (StoreUnavailableException)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// Runs one call, waiting at most the command timeout (while Redis is known to be unreachable, at most
    /// <see cref="ProbeWait"/>: a Redis that is back answers at once, and reads only Redis can answer are
    /// refused quickly instead of after a command timeout each): this client version never times out an
    /// asynchronous command itself, so a Redis that hangs (paused, swapping) would hang the caller.
    /// The client takes no cancellation token either. A caller that stops waiting (timeout or
    /// cancellation) does not stop the command, which may still run, as any request already sent may.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<IDatabase, Task<T>> call, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(call);
        T result;
        try
        {
            result = await call(Database).WaitAsync(Unreachable ? ProbeWait : _commandTimeout, cancellationToken);
        }
        catch (Exception ex) when (IsUnavailable(ex))
        {
            MarkUnavailable();
            throw new StoreUnavailableException("Redis is unavailable: " + ex.Message, ex);
        }
        Volatile.Write(ref _lastAnswer, _clock.GetTimestamp());
        Volatile.Write(ref _answered, true);
        MarkAvailable();
        return result;
    }

    private void MarkUnavailable()
    {
        if (Interlocked.CompareExchange(ref _unavailable, 1, 0) == 0)
        {
            BecameUnreachable?.Invoke();
        }
    }

    private void MarkAvailable()
    {
        if (Volatile.Read(ref _unavailable) == 1 && Interlocked.CompareExchange(ref _unavailable, 0, 1) == 1)
        {
            RedisStoreLog.Reachable(_logger);
            BecameReachable?.Invoke();
        }
    }

    public static bool IsUnavailable(Exception ex) => ex switch
    {
        RedisConnectionException or TimeoutException or ObjectDisposedException => true,
        RedisServerException server => UnavailableReplies.Any(r => server.Message.StartsWith(r, StringComparison.Ordinal)),
        _ => false,
    };

    /// <summary>The watchdog's tick: notes since when the client has had no connection, and replaces it once that exceeds the timeout.</summary>
    private void CheckStuck()
    {
        var client = _client;
        if (client.Multiplexer.IsConnected)
        {
            Volatile.Write(ref _downSince, 0);
            return;
        }
        var now = _clock.GetTimestamp();
        var since = Volatile.Read(ref _downSince);
        if (since == 0)
        {
            Volatile.Write(ref _downSince, now);
            return;
        }
        var down = _clock.GetElapsedTime(since, now);
        if (down >= _stuckTimeout && Interlocked.Exchange(ref _replacing, 1) == 0)
        {
            _ = ReplaceAsync(client, down);
        }
    }

    /// <summary>Connects a fresh client, moves the subscriptions to it and closes <paramref name="stuck"/>.</summary>
    private async Task ReplaceAsync(Client stuck, TimeSpan down)
    {
        try
        {
            RedisStoreLog.ReplacingStuckClient(_logger, _configuration.EndPoints.FirstOrDefault()?.ToString() ?? "?", down.TotalSeconds);
            // Not connected yet is fine (AbortOnConnectFail is off): the fresh client keeps trying by itself.
            var fresh = await ConnectionMultiplexer.ConnectAsync(_configuration).ConfigureAwait(false);
            lock (_clientLock)
            {
                if (_disposed)
                {
                    Close(fresh);
                    return;
                }
                _client = Attach(fresh);
                var subscriber = fresh.GetSubscriber();
                foreach (var (channel, handler) in _subscriptions)
                {
                    Observe(subscriber.SubscribeAsync(channel, handler));
                }
            }
            Volatile.Write(ref _downSince, 0);
            Interlocked.Increment(ref _replacements);
            Close(stuck.Multiplexer);
            if (fresh.IsConnected)
            {
                // Whatever the stuck client missed is read back by whoever follows the connection.
                Reconnected?.Invoke(ConnectionType.Subscription);
            }
        }
        catch (Exception ex)
        {
            RedisStoreLog.ReplaceFailed(_logger, ex);
        }
        finally
        {
            Volatile.Write(ref _replacing, 0);
        }
    }

    private Client Attach(ConnectionMultiplexer multiplexer)
    {
        multiplexer.ConnectionFailed += OnConnectionFailed;
        multiplexer.ConnectionRestored += OnConnectionRestored;
        return new Client(multiplexer, multiplexer.GetDatabase());
    }

    private void Close(ConnectionMultiplexer multiplexer)
    {
        multiplexer.ConnectionFailed -= OnConnectionFailed;
        multiplexer.ConnectionRestored -= OnConnectionRestored;
        // Close(true), what Dispose does by default, waits out the connect timeout in this client
        // version (5 s per shutdown). Nothing is lost: on shutdown the host has drained its calls, and
        // a replaced client had no connection to carry any (its waiting calls time out as unavailable).
        multiplexer.Close(allowCommandsToComplete: false);
        multiplexer.Dispose();
    }

    private void OnConnectionFailed(object? sender, ConnectionFailedEventArgs e)
    {
        // The subscription connection fails and returns with the interactive one: log the outage once.
        if (e.ConnectionType == ConnectionType.Interactive)
        {
            RedisStoreLog.ConnectionLost(_logger, e.EndPoint?.ToString() ?? "?", e.FailureType.ToString());
            MarkUnavailable();
        }
    }

    private void OnConnectionRestored(object? sender, ConnectionFailedEventArgs e)
    {
        if (e.ConnectionType == ConnectionType.Interactive)
        {
            RedisStoreLog.ConnectionRestored(_logger, e.EndPoint?.ToString() ?? "?");
        }
        Reconnected?.Invoke(e.ConnectionType);
    }

    public void Dispose()
    {
        _watchdog?.Dispose();
        Client client;
        lock (_clientLock)
        {
            if (_disposed)
            {
                return;
            }
            _disposed = true;
            client = _client;
        }
        Close(client.Multiplexer);
    }

    /// <summary>One client and its database, swapped together.</summary>
    private sealed record Client(ConnectionMultiplexer Multiplexer, IDatabase Database);
}
