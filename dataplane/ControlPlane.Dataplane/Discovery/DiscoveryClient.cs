using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.LoadBalancing;
using ControlPlane.Sdk;
using ControlPlane.Sdk.Discovery;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ControlPlane.Dataplane.Discovery;

/// <summary>
/// The node's configuration source: one <c>DeltaResources</c> stream to a control plane, wildcard
/// subscriptions to EndpointSet and RoutingPolicy. The protocol (subscriptions with
/// initial_resource_versions, ACK/NACK, reconnect, failover across addresses) is the SDK's
/// <see cref="DeltaDiscoveryStream"/>; this class holds what is node-specific: each response is validated as a whole
/// (<see cref="DiscoveryState"/>); a valid one is published atomically and ACKed, then written as the
/// last-known-good configuration by a writer of its own (<see cref="LastKnownGoodWriter"/>: the ACK
/// never waits for the disk), an invalid one NACKed with the problem while the node keeps what it had.
/// When no control plane answers within <see cref="DiscoveryOptions.LastKnownGoodAfter"/> of start,
/// the persisted configuration is served. The first configuration is published only once both types
/// have answered, or <see cref="DiscoveryOptions.InitialFetchTimeout"/> after the first answer
/// (Envoy's initial fetch), so no request sees an image's endpoints without its policy.
/// </summary>
public sealed class DiscoveryClient : BackgroundService, IDeltaResourceHandler
{
    private static readonly IReadOnlyList<DeltaSubscription> WildcardSubscriptions =
        [.. DiscoveryState.Types.Select(t => new DeltaSubscription(t, [ResourceTypeUrls.Wildcard]))];

    private readonly DiscoveryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<DiscoveryClient> _logger;
    private readonly DiscoveryState _state;
    private readonly LastKnownGoodStore? _store;
    private volatile string _heldPosition = "";
    private readonly ControlPlaneClient _client;
    private readonly DeltaDiscoveryStream _stream;
    private readonly Node _node;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly DiscoveryStats _stats = new(DiscoveryState.Types);
    private readonly LastKnownGoodWriter? _writer;
    private ITimer? _initialFetchTimer;
    private int _initialFetchEnded;
    private Task _lastKnownGoodDelay = Task.CompletedTask;

    public DiscoveryClient(
        DiscoveryOptions options,
        InMemoryProxyConfigProvider provider,
        LoadBalancingPolicies policies,
        TimeProvider time,
        ILogger<DiscoveryClient> logger,
        Random? random = null,
        ILoggerFactory? loggerFactory = null)
        : this(options, provider, policies, time, logger, random, loggerFactory, store: null)
    {
    }

    /// <param name="store">Where the last-known-good configuration is written; default one in <see cref="DiscoveryOptions.StateDirectory"/> (tests pass one that is slow or counts its writes).</param>
    internal DiscoveryClient(
        DiscoveryOptions options,
        InMemoryProxyConfigProvider provider,
        LoadBalancingPolicies policies,
        TimeProvider time,
        ILogger<DiscoveryClient> logger,
        Random? random,
        ILoggerFactory? loggerFactory,
        LastKnownGoodStore? store)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ControlPlanes.Count == 0)
        {
            throw new ArgumentException("Dataplane:ControlPlanes names no control plane", nameof(options));
        }
        _options = options;
        _time = time;
        _logger = logger;
        _state = new DiscoveryState(provider, policies);
        if (options.InitialFetchTimeout != TimeSpan.Zero)
        {
            _state.HoldInitialFetch(DiscoveryState.Types);
        }
        _store = store ?? (string.IsNullOrEmpty(options.StateDirectory) ? null : new LastKnownGoodStore(options.StateDirectory));
        if (_store is not null)
        {
            _writer = new LastKnownGoodWriter(_store, _state.PublishedResources, options.LastKnownGoodWriteInterval, time, logger);
        }
        _node = NodeCredentials.CreateNode(options);
        var client = new ControlPlaneClientOptions
        {
            // The node sends its own credential only; the admin token must never be read here.
            PlatformTokenVariable = "",
            PlatformTokenFileVariable = "",
            DataplaneTokenVariable = options.TokenVariable,
            DataplaneTokenFileVariable = options.TokenFileVariable,
            StartAtRandomAddress = options.StartAtRandomControlPlane,
            KeepAliveInterval = options.ControlPlaneKeepAliveInterval,
            KeepAliveTimeout = options.ControlPlaneKeepAliveTimeout,
        };
        foreach (var address in options.ControlPlanes)
        {
            client.Addresses.Add(new Uri(address));
        }
        _client = ControlPlaneClient.Create(client, time, loggerFactory ?? NullLoggerFactory.Instance, random);
        _stream = new DeltaDiscoveryStream(_client.Discovery, this, new DeltaDiscoveryOptions
        {
            Node = _node,
            ReconnectBaseDelay = options.ReconnectBaseDelay,
            ReconnectMaxDelay = options.ReconnectMaxDelay,
            FirstResponseTimeout = options.FirstResponseTimeout,
            BackoffResetAfter = options.BackoffResetAfter,
        }, time, random);
    }

    /// <summary>The control plane (as configured) whose stream has answered and is open; null while disconnected.</summary>
    public string? ConnectedControlPlane =>
        _stream.ConnectedAddress is { } connected ? _options.ControlPlanes.FirstOrDefault(a => new Uri(a) == connected) ?? connected.ToString() : null;

    /// <summary>Responses accepted so far.</summary>
    public long Acks => _stats.Acks;

    /// <summary>Responses rejected so far.</summary>
    public long Nacks => _stats.Nacks;

    /// <summary>The control-plane addresses the node uses, in the order it rotates through them (from a random one unless <see cref="DiscoveryOptions.StartAtRandomControlPlane"/> is false).</summary>
    public IReadOnlyList<string> ControlPlanes => _options.ControlPlanes;

    /// <summary>Per resource type: ACKs, NACKs, the last accepted version (for the metrics).</summary>
    internal DiscoveryStats Stats => _stats;

    /// <summary>The held resources (for the metrics: counts per type, last-known-good in use).</summary>
    internal DiscoveryState State => _state;

    /// <summary>Where the last-known-good configuration is kept; null when not persisted.</summary>
    public string? LastKnownGoodPath => _store?.Path;

    /// <summary>Writes of the last-known-good configuration (or its position) that failed since start: a full disk, a read-only or missing state directory, a directory in the file's place.</summary>
    public long LastKnownGoodWriteFailures => _writer?.Failures ?? 0;

    /// <summary>When the last-known-good configuration (or its position) was last written; null when not since start.</summary>
    public DateTimeOffset? LastKnownGoodWrittenAt => _writer?.WrittenAt;

    /// <summary>Whether a change or a store position the node recorded is not on disk yet (due, being written, or its write failed); false when not persisted.</summary>
    internal bool LastKnownGoodPending => _writer?.Pending ?? false;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // The wait for a control plane starts with the host (not when ExecuteAsync gets a thread), so
        // it is measured from start, and a test's virtual clock can be advanced right after start.
        if (_store is not null)
        {
            _lastKnownGoodDelay = Task.Delay(_options.LastKnownGoodAfter, _time, _lifetime.Token);
        }
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _initialFetchTimer?.Dispose();
        await _lifetime.CancelAsync().ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        // The stream has ended: nothing changes any more. What it applied last is written before
        // the node exits, so a node stopped right after a change restarts with it.
        if (_writer is not null)
        {
            await _writer.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastKnownGood = LoadLastKnownGoodAsync(stoppingToken);
        try
        {
            await _stream.RunAsync(stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            await lastKnownGood.ConfigureAwait(false);
        }
    }

    IReadOnlyList<DeltaSubscription> IDeltaResourceHandler.Subscriptions => WildcardSubscriptions;

    IReadOnlyDictionary<string, string> IDeltaResourceHandler.Versions(string typeUrl) => _state.Versions(typeUrl);

    /// <summary>The store position of the configuration loaded from disk, until a control plane sends one.</summary>
    string IDeltaResourceHandler.StorePosition => _heldPosition;

    void IDeltaResourceHandler.OnConnecting(Uri address) => DiscoveryLog.Connecting(_logger, address.ToString(), _node.Id);

    void IDeltaResourceHandler.OnStreamEnded(Uri address, string reason, TimeSpan reconnectDelay) =>
        DiscoveryLog.StreamEnded(_logger, address.ToString(), reason, reconnectDelay);

    /// <summary>One response, validated and published as a whole (or rejected), then kept as last-known-good.</summary>
    Google.Rpc.Status? IDeltaResourceHandler.Apply(DeltaResourcesResponse response)
    {
        var holding = _state.Holding;
        var error = _state.Apply(response.TypeUrl, response.Resources, response.RemovedResources, out var published);
        if (error is null)
        {
            _heldPosition = response.StorePosition;
            _stats.Acked(response.TypeUrl, response.SystemVersionInfo);
            DiscoveryLog.Acked(_logger, response.TypeUrl, response.SystemVersionInfo, response.Nonce, response.Resources.Count, response.RemovedResources.Count);
        }
        else
        {
            _stats.Nacked(response.TypeUrl);
            DiscoveryLog.Nacked(_logger, response.TypeUrl, response.SystemVersionInfo, response.Nonce, error.Message);
        }
        if (holding)
        {
            WatchInitialFetch();
        }
        // Recorded for the writer after the change is applied, with the response's position: the
        // writer reads them together, then the resources, which are thus never older than the position.
        if (published || (holding && !_state.Holding))
        {
            // What is published changed: applied, or released by a rejection that ended the initial fetch.
            _writer?.ResourcesChanged(error is null ? response.StorePosition : null);
        }
        else if (error is null)
        {
            _writer?.SameResources(response.StorePosition); // the file holds them already: only a position that moved on
        }
        return error;
    }

    /// <summary>
    /// After an answer that came while the initial fetch held the config: log its end, or start its
    /// timeout. Measured from the first answer, not from start (as Envoy does), so a node that
    /// started before its control plane still gets both types together once it answers.
    /// </summary>
    private void WatchInitialFetch()
    {
        if (!_state.Holding)
        {
            if (Interlocked.Exchange(ref _initialFetchEnded, 1) == 0)
            {
                DiscoveryLog.InitialFetchComplete(_logger, _state.Count(DiscoveryState.EndpointSetType), _state.Count(DiscoveryState.RoutingPolicyType));
            }
            return;
        }
        if (_initialFetchTimer is null && _options.InitialFetchTimeout != Timeout.InfiniteTimeSpan)
        {
            _initialFetchTimer = _time.CreateTimer(_ => InitialFetchTimedOut(), null, _options.InitialFetchTimeout, Timeout.InfiniteTimeSpan);
        }
    }

    private void InitialFetchTimedOut()
    {
        var (missing, published) = _state.EndInitialFetch();
        if (missing.Count == 0 || Interlocked.Exchange(ref _initialFetchEnded, 1) != 0)
        {
            return;
        }
        DiscoveryLog.InitialFetchTimedOut(_logger, _options.InitialFetchTimeout, string.Join(", ", missing));
        if (published)
        {
            _writer?.ResourcesChanged();
        }
    }

    private async Task LoadLastKnownGoodAsync(CancellationToken stoppingToken)
    {
        if (_store is null)
        {
            return;
        }
        try
        {
            await _lastKnownGoodDelay.WaitAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        if (_state.HasLiveConfig)
        {
            return;
        }
        IReadOnlyList<Resource>? resources;
        try
        {
            resources = _store.Load();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or Google.Protobuf.InvalidProtocolBufferException)
        {
            DiscoveryLog.LastKnownGoodUnusable(_logger, _store.Path, ex.Message);
            return;
        }
        if (resources is null)
        {
            return;
        }
        var changesBefore = _writer!.Changes;
        var errors = _state.LoadLastKnownGood(resources);
        if (errors is null)
        {
            return; // a live configuration arrived meanwhile
        }
        if (errors.Count > 0)
        {
            DiscoveryLog.LastKnownGoodUnusable(_logger, _store.Path, string.Join("; ", errors));
            return;
        }
        string position;
        try
        {
            position = _store.LoadPosition();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            position = ""; // served all the same; only a replica behind it could then serve the node
        }
        _heldPosition = position;
        _writer.Loaded(changesBefore, position); // what is served is what the file holds
        DiscoveryLog.LastKnownGoodLoaded(_logger, _options.LastKnownGoodAfter, resources.Count, _store.Path);
        // A stream still waiting for its first answer announced nothing: restart it so that it
        // announces what is now held (the control plane then removes what no longer exists).
        _stream.RestartIfUnanswered();
    }

    public override void Dispose()
    {
        base.Dispose();
        _initialFetchTimer?.Dispose();
        _writer?.Dispose();
        _lifetime.Dispose();
        _client.Dispose();
    }
}
