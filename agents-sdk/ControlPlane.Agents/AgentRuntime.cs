using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using ControlPlane.Agents.Runtime;
using ControlPlane.Sdk;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Agents;

/// <summary>
/// What every action of a process shares: the configuration, one control-plane client per agent
/// (sent as <c>x-agent</c>, so the audit trail names the agent), one HTTP client, each agent's rate
/// limiter, the JSON log, the user channel, and the heartbeats the sd-agent keeps in this process.
/// cpctl makes one per command; the MCP server one for its life. Dispose it to stop the heartbeats
/// (their leases then run out) and close the connections.
/// </summary>
public sealed class AgentRuntime : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<ControlPlaneClient>> _clients = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RateLimiter> _limiters = new(StringComparer.Ordinal);
    private readonly HttpMessageInvoker _httpClient;
    private readonly Lazy<HeartbeatPool> _heartbeats;
    private readonly ILoggerFactory _loggers;
    private int _disposed;

    /// <summary>A runtime for <paramref name="options"/>. Throws <see cref="ArgumentException"/> when the token file named by AGENT_PLATFORM_TOKEN_FILE cannot be read.</summary>
    /// <param name="options">The configuration (<see cref="AgentOptions.FromEnvironment"/>, then flags).</param>
    /// <param name="time">The clock of schedules, polls and backoff; default the system clock.</param>
    /// <param name="log">Where JSON log lines go; default stderr.</param>
    /// <param name="httpHandler">The HTTP handler (tests); default a SocketsHttpHandler without proxy, cookies or redirects.</param>
    /// <param name="random">Jitter; default <see cref="Random.Shared"/>.</param>
    public AgentRuntime(AgentOptions options, TimeProvider? time = null, TextWriter? log = null, HttpMessageHandler? httpHandler = null, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        Time = time ?? TimeProvider.System;
        Random = random ?? Random.Shared;
        var token = PlatformToken.Read(options.PlatformTokenVariable, options.PlatformTokenFileVariable, Environment.GetEnvironmentVariable);
        HasToken = token is not null;
        Redactor = new Redactor(token is null ? [] : [token]);
        Log = new AgentLog(log ?? Console.Error, Redactor, Time, options.VerboseLogs);
        // The SDK's warnings (an answer from a replica's memory, 9005; failed heartbeat rounds) reach the same log.
        _loggers = LoggerFactory.Create(builder => builder.AddProvider(new AgentLoggerProvider(Log)).SetMinimumLevel(LogLevel.Warning));
        _httpClient = new HttpMessageInvoker(httpHandler ?? new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
            MaxConnectionsPerServer = 256,
        }, disposeHandler: true);
        Http = new AgentHttp(_httpClient, options.RequestTimeout, options.Retry, Time, Random);
        Channel = new UserChannel(options.UserChannel, Http, Log, Redactor, Time);
        _heartbeats = new Lazy<HeartbeatPool>(() => new HeartbeatPool(ClientFor("sd-agent").Registry, Time, _loggers, Log, Channel, options.Retry));
    }

    /// <summary>The configuration in force.</summary>
    public AgentOptions Options { get; }

    /// <summary>The clock of schedules, polls and backoff.</summary>
    public TimeProvider Time { get; }

    /// <summary>Instances the sd-agent keeps alive (heartbeats) in this process.</summary>
    public int HeartbeatingInstances => _heartbeats.IsValueCreated ? _heartbeats.Value.Count : 0;

    internal Random Random { get; }

    internal bool HasToken { get; }

    internal Redactor Redactor { get; }

    internal AgentLog Log { get; }

    internal AgentHttp Http { get; }

    internal UserChannel Channel { get; }

    internal HeartbeatPool Heartbeats => _heartbeats.Value;

    /// <summary>
    /// Drains and deregisters every instance the sd-agent keeps alive here (cpctl sd register ends so
    /// on Ctrl-C). Returns the instances that could not be deregistered (id, why): they stay
    /// registered until their lease runs out.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> StopHeartbeatsAsync(CancellationToken cancellationToken) =>
        _heartbeats.IsValueCreated ? await _heartbeats.Value.StopAsync(cancellationToken).ConfigureAwait(false) : new Dictionary<string, string>();

    /// <summary>The control-plane client of <paramref name="agent"/> (created on first use).</summary>
    internal ControlPlaneClient ClientFor(string agent) => _clients.GetOrAdd(agent, a => new Lazy<ControlPlaneClient>(() =>
    {
        var options = new ControlPlaneClientOptions
        {
            Timeout = Options.RequestTimeout,
            ConnectTimeout = Options.RequestTimeout,
            Retry = new RetryOptions { MaxAttempts = Options.Retry + 1 },
            PlatformTokenVariable = Options.PlatformTokenVariable,
            PlatformTokenFileVariable = Options.PlatformTokenFileVariable,
            // Agents never hold the dataplane token.
            DataplaneTokenVariable = "",
            DataplaneTokenFileVariable = "",
            AgentName = a,
        };
        foreach (var address in Options.SdBase)
        {
            options.Addresses.Add(address);
        }
        return ControlPlaneClient.Create(options, Time, _loggers);
    })).Value;

    /// <summary>The agent's limiter: requests to the platform's APIs evenly spaced at <see cref="AgentOptions.RateLimitQps"/>.</summary>
    internal RateLimiter LimiterFor(string agent) => _limiters.GetOrAdd(agent, _ => new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
    {
        TokenLimit = 1,
        TokensPerPeriod = 1,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1 / Options.RateLimitQps),
        QueueLimit = 100_000,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        AutoReplenishment = true,
    }));

    /// <summary>Stops the heartbeats (without deregistering: the leases run out) and closes every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (_heartbeats.IsValueCreated)
        {
            await _heartbeats.Value.DisposeAsync().ConfigureAwait(false);
        }
        foreach (var client in _clients.Values.Where(c => c.IsValueCreated))
        {
            client.Value.Dispose();
        }
        foreach (var limiter in _limiters.Values)
        {
            await limiter.DisposeAsync().ConfigureAwait(false);
        }
        _httpClient.Dispose();
        _loggers.Dispose();
    }
}
