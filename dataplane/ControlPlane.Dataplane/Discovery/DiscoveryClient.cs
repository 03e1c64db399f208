using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.LoadBalancing;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Dataplane.Discovery;

/// <summary>
/// The node's configuration source: one <c>DeltaResources</c> stream to a control plane, wildcard
/// subscriptions to EndpointSet and RoutingPolicy. Each response is validated as a whole
/// (<see cref="DiscoveryState"/>); a valid one is published atomically, persisted as the
/// last-known-good configuration and ACKed, an invalid one NACKed with the problem while the node
/// keeps what it had. A broken stream is retried on the next control-plane address after an
/// exponential, fully jittered delay, announcing what the node holds in initial_resource_versions.
/// When no control plane answers within <see cref="DiscoveryOptions.LastKnownGoodAfter"/> of start,
/// the persisted configuration is served. The first configuration is published only once both types
/// have answered, or <see cref="DiscoveryOptions.InitialFetchTimeout"/> after the first answer
/// (Envoy's initial fetch), so no request sees an image's endpoints without its policy.
/// </summary>
public sealed class DiscoveryClient : BackgroundService
{
    private static readonly Method<DeltaResourcesRequest, DeltaResourcesResponse> DeltaMethod =
        new(DiscoveryReflection.Descriptor.Services[0].FindMethodByName("DeltaResources"));

    private readonly DiscoveryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<DiscoveryClient> _logger;
    private readonly DiscoveryState _state;
    private readonly LastKnownGoodStore? _store;
    private readonly ReconnectBackoff _backoff;
    private readonly Metadata _headers = [];
    private readonly Node _node;
    private readonly Dictionary<string, GrpcChannel> _channels = new(StringComparer.Ordinal);
    private readonly Lock _streamLock = new();
    private readonly CancellationTokenSource _lifetime = new();
    private readonly DiscoveryStats _stats = new(DiscoveryState.Types);
    private readonly Lock _persistLock = new();
    private ITimer? _initialFetchTimer;
    private int _initialFetchEnded;
    private Task _lastKnownGoodDelay = Task.CompletedTask;
    private CancellationTokenSource? _stream;
    private volatile string? _connected;
    private volatile bool _answered;

    public DiscoveryClient(
        DiscoveryOptions options,
        InMemoryProxyConfigProvider provider,
        LoadBalancingPolicies policies,
        TimeProvider time,
        ILogger<DiscoveryClient> logger,
        Random? random = null,
        Func<string, string?>? getVariable = null)
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
        _store = string.IsNullOrEmpty(options.StateDirectory) ? null : new LastKnownGoodStore(options.StateDirectory);
        _backoff = new ReconnectBackoff(options.ReconnectBaseDelay, options.ReconnectMaxDelay, random ?? Random.Shared);
        _node = NodeCredentials.CreateNode(options);
        if (NodeCredentials.ReadToken(options, getVariable ?? Environment.GetEnvironmentVariable) is { } credential)
        {
            DiscoveryLog.TokenSource(_logger, credential.Source);
            _headers.Add(NodeCredentials.TokenHeader, credential.Token);
        }
    }

    /// <summary>The control plane whose stream has answered and is open; null while disconnected.</summary>
    public string? ConnectedControlPlane => _connected;

    /// <summary>Responses accepted so far.</summary>
    public long Acks => _stats.Acks;

    /// <summary>Responses rejected so far.</summary>
    public long Nacks => _stats.Nacks;

    /// <summary>The control-plane addresses the node uses, in the order it tries them.</summary>
    public IReadOnlyList<string> ControlPlanes => _options.ControlPlanes;

    /// <summary>Per resource type: ACKs, NACKs, the last accepted version (for the metrics).</summary>
    internal DiscoveryStats Stats => _stats;

    /// <summary>The held resources (for the metrics: counts per type, last-known-good in use).</summary>
    internal DiscoveryState State => _state;

    /// <summary>Where the last-known-good configuration is kept; null when not persisted.</summary>
    public string? LastKnownGoodPath => _store?.Path;

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
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var lastKnownGood = LoadLastKnownGoodAsync(stoppingToken);
        var index = 0;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var address = _options.ControlPlanes[index % _options.ControlPlanes.Count];
                _answered = false;
                string reason;
                try
                {
                    await RunStreamAsync(address, stoppingToken).ConfigureAwait(false);
                    reason = "closed by the control plane";
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    break;
                }
                catch (OperationCanceledException)
                {
                    reason = "restarted to resume from the last-known-good configuration";
                }
                catch (RpcException ex)
                {
                    reason = $"{ex.Status.StatusCode}: {ex.Status.Detail}";
                }
#pragma warning disable CA1031 // any failure of a stream means: reconnect
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    reason = ex.GetType().Name + ": " + ex.Message;
                }
                _connected = null;
                if (_answered)
                {
                    _backoff.Reset();
                }
                else
                {
                    index++;
                }
                var delay = _backoff.Next();
                DiscoveryLog.StreamEnded(_logger, address, reason, delay);
                try
                {
                    await Task.Delay(delay, _time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        finally
        {
            await lastKnownGood.ConfigureAwait(false);
        }
    }

    private async Task RunStreamAsync(string address, CancellationToken stoppingToken)
    {
        using var stream = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        lock (_streamLock)
        {
            _stream = stream;
        }
        try
        {
            var channel = Channel(address);
            DiscoveryLog.Connecting(_logger, address, _node.Id);
            using var call = channel.AsyncDuplexStreamingCall(DeltaMethod, new CallOptions(_headers, cancellationToken: stream.Token));
            var first = true;
            foreach (var type in DiscoveryState.Types)
            {
                var request = new DeltaResourcesRequest { TypeUrl = type };
                if (first)
                {
                    request.Node = _node;
                    first = false;
                }
                request.ResourceNamesSubscribe.Add("*");
                request.InitialResourceVersions.Add(_state.Versions(type));
                await call.RequestStream.WriteAsync(request, stream.Token).ConfigureAwait(false);
            }
            while (await call.ResponseStream.MoveNext(stream.Token).ConfigureAwait(false))
            {
                var response = call.ResponseStream.Current;
                _answered = true;
                _connected = address;
                var answer = new DeltaResourcesRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce };
                var holding = _state.Holding;
                var error = _state.Apply(response.TypeUrl, response.Resources, response.RemovedResources);
                if (error is null)
                {
                    _stats.Acked(response.TypeUrl, response.SystemVersionInfo);
                    DiscoveryLog.Acked(_logger, response.TypeUrl, response.SystemVersionInfo, response.Nonce, response.Resources.Count, response.RemovedResources.Count);
                }
                else
                {
                    _stats.Nacked(response.TypeUrl);
                    DiscoveryLog.Nacked(_logger, response.TypeUrl, response.SystemVersionInfo, response.Nonce, error.Message);
                    answer.ErrorDetail = error;
                }
                if (holding)
                {
                    WatchInitialFetch();
                }
                if (error is null || (holding && !_state.Holding))
                {
                    Persist(); // what is published changed: applied, or released by a rejection that ended the initial fetch
                }
                await call.RequestStream.WriteAsync(answer, stream.Token).ConfigureAwait(false);
            }
        }
        finally
        {
            lock (_streamLock)
            {
                _stream = null;
            }
        }
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
            Persist();
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
        DiscoveryLog.LastKnownGoodLoaded(_logger, _options.LastKnownGoodAfter, resources.Count, _store.Path);
        // A stream still waiting for its first answer announced nothing: restart it so that it
        // announces what is now held (the control plane then removes what no longer exists).
        lock (_streamLock)
        {
            if (!_answered)
            {
                _stream?.Cancel();
            }
        }
    }

    private void Persist()
    {
        if (_store is null)
        {
            return;
        }
        // One writer at a time (the stream's reader and the initial fetch's timer), each saving the
        // state as it is when it holds the lock, so an older set never overwrites a newer one.
        lock (_persistLock)
        {
            if (_state.PublishedResources() is not { } resources)
            {
                return; // held by the initial fetch: a partial set must not be served after a restart either
            }
            try
            {
                _store.Save(resources);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                DiscoveryLog.PersistFailed(_logger, _store.Path, ex);
            }
        }
    }

    private GrpcChannel Channel(string address)
    {
        if (!_channels.TryGetValue(address, out var channel))
        {
            channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { TimeProvider = _time, ConnectTimeout = TimeSpan.FromSeconds(5) });
            _channels[address] = channel;
        }
        return channel;
    }

    public override void Dispose()
    {
        base.Dispose();
        _initialFetchTimer?.Dispose();
        _lifetime.Dispose();
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
        _channels.Clear();
    }
}
