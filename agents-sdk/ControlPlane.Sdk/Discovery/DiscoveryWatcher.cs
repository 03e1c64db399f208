using ControlPlane.Api.V1;
using ControlPlane.Sdk.Clients;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ControlPlane.Sdk.Discovery;

/// <summary>
/// Watches endpoint sets (and routing policies) for client-side load balancing over the delta
/// discovery stream (<see cref="DeltaDiscoveryStream"/>): <see cref="Current"/> is always a complete,
/// checked <see cref="DiscoverySnapshot"/>; a response that fails the checks is NACKed and changes
/// nothing; a reconnect resumes from the versions held, so removals made meanwhile arrive too.
/// Runs as a hosted service, or between <see cref="StartAsync"/> and <see cref="StopAsync"/>.
/// </summary>
public sealed class DiscoveryWatcher : IHostedService, IAsyncDisposable, IDeltaResourceHandler
{
    private readonly WatcherState _state;
    private readonly DeltaDiscoveryStream _stream;
    private readonly DiscoveryWatcherOptions _options;
    private readonly ILogger _logger;
    private CancellationTokenSource? _stopping;
    private Task _loop = Task.CompletedTask;
    private int _disposed;
    private long _acks;
    private long _nacks;

    /// <param name="client">Opens the streams (from <see cref="ControlPlaneClient.Discovery"/> or DI).</param>
    /// <param name="options">What to watch, node identity, extra checks.</param>
    /// <param name="time">Clock of the reconnect delays; default the system clock.</param>
    /// <param name="logger">Where stream ends and rejected responses are logged.</param>
    /// <param name="random">Jitter source; default <see cref="Random.Shared"/>.</param>
    public DiscoveryWatcher(IDiscoveryClient client, DiscoveryWatcherOptions? options = null, TimeProvider? time = null, ILogger<DiscoveryWatcher>? logger = null, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        _options = options ?? new DiscoveryWatcherOptions();
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _state = new WatcherState(_options, Publish);
        var node = new Node
        {
            Id = _options.NodeId,
            Zone = _options.Zone ?? "",
            Region = _options.Region ?? "",
            UserAgentName = "controlplane-sdk",
            UserAgentVersion = typeof(DiscoveryWatcher).Assembly.GetName().Version?.ToString(3) ?? "0.0.0",
        };
        _stream = new DeltaDiscoveryStream(client, this, new DeltaDiscoveryOptions
        {
            Node = node,
            ReconnectBaseDelay = _options.ReconnectBaseDelay,
            ReconnectMaxDelay = _options.ReconnectMaxDelay,
            FirstResponseTimeout = _options.FirstResponseTimeout,
            BackoffResetAfter = _options.BackoffResetAfter,
        }, time, random);
    }

    /// <summary>The latest accepted snapshot (empty, generation 0, before the first response).</summary>
    public DiscoverySnapshot Current => _state.Current;

    /// <summary>Raised after a new snapshot is published (on the stream's reader; keep handlers short).</summary>
    public event EventHandler<DiscoverySnapshot>? Changed;

    /// <summary>Raised when a response is rejected (NACKed); keep handlers short.</summary>
    public event EventHandler<DiscoveryRejection>? Rejected;

    /// <summary>The control plane whose stream is open and has answered; null while disconnected.</summary>
    public Uri? ConnectedAddress => _stream.ConnectedAddress;

    /// <summary>Responses accepted so far.</summary>
    public long Acks => Interlocked.Read(ref _acks);

    /// <summary>Responses rejected so far.</summary>
    public long Nacks => Interlocked.Read(ref _nacks);

    /// <summary>Waits until <paramref name="condition"/> holds for <see cref="Current"/> (checked now and at every change) and returns that snapshot.</summary>
    public async Task<DiscoverySnapshot> WaitForAsync(Func<DiscoverySnapshot, bool> condition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(condition);
        while (true)
        {
            var snapshot = Current;
            if (condition(snapshot))
            {
                return snapshot;
            }
            var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (snapshot.ChangeToken.RegisterChangeCallback(static s => ((TaskCompletionSource)s!).TrySetResult(), changed))
            {
                await changed.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Starts watching (returns at once; the first snapshot follows the control plane's first answer).</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_stopping is not null)
        {
            throw new InvalidOperationException("The watcher is already started.");
        }
        _stopping = new CancellationTokenSource();
        var token = _stopping.Token;
        _loop = Task.Run(() => _stream.RunAsync(token), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Closes the stream; <see cref="Current"/> keeps the last snapshot.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_stopping is null || _stopping.IsCancellationRequested)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops watching.</summary>
    public async ValueTask DisposeAsync()
    {
        // Once: a container that registered it as a hosted service too disposes it twice.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _stopping?.Dispose();
    }

    IReadOnlyList<DeltaSubscription> IDeltaResourceHandler.Subscriptions => _state.Subscriptions;

    IReadOnlyDictionary<string, string> IDeltaResourceHandler.Versions(string typeUrl) => _state.Versions(typeUrl);

    Google.Rpc.Status? IDeltaResourceHandler.Apply(DeltaResourcesResponse response)
    {
        var error = _state.Apply(response);
        if (error is null)
        {
            Interlocked.Increment(ref _acks);
            DiscoveryLog.Acked(_logger, response.TypeUrl, response.SystemVersionInfo, response.Nonce, response.Resources.Count, response.RemovedResources.Count);
        }
        else
        {
            Interlocked.Increment(ref _nacks);
            DiscoveryLog.Nacked(_logger, response.TypeUrl, response.SystemVersionInfo, response.Nonce, error.Message);
            Raise(Rejected, new DiscoveryRejection(response.TypeUrl, response.SystemVersionInfo, response.Nonce, error.Message));
        }
        return error;
    }

    void IDeltaResourceHandler.OnConnecting(Uri address) => DiscoveryLog.Connecting(_logger, address, _options.NodeId);

    void IDeltaResourceHandler.OnStreamEnded(Uri address, string reason, TimeSpan reconnectDelay) => DiscoveryLog.StreamEnded(_logger, address, reason, reconnectDelay);

    private void Publish(DiscoverySnapshot snapshot) => Raise(Changed, snapshot);

    private void Raise<T>(EventHandler<T>? handler, T args)
    {
        try
        {
            handler?.Invoke(this, args);
        }
#pragma warning disable CA1031 // a subscriber's bug must not break the stream
        catch (Exception ex)
#pragma warning restore CA1031
        {
            DiscoveryLog.HandlerFailed(_logger, ex);
        }
    }
}
