using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Sdk.Clients;
using ControlPlane.Sdk.Internal;

namespace ControlPlane.Sdk.Discovery;

/// <summary>
/// The client side of <c>DeltaResources</c> (discovery.proto, after Envoy's incremental xDS): one
/// stream at a time; on open, the node identity and a subscription per type, each with the versions
/// already held (<c>initial_resource_versions</c>), so a reconnect is answered with only what
/// changed; every response handed to the <see cref="IDeltaResourceHandler"/> and answered with an
/// ACK (its nonce) or a NACK (its nonce and <c>error_detail</c>). A stream that ends is reopened
/// after an exponential, fully jittered delay (reset only after a stream that answered and lasted
/// <see cref="DeltaDiscoveryOptions.BackoffResetAfter"/>); one that ended without answering anything
/// (refused, unreachable, or silent for <see cref="DeltaDiscoveryOptions.FirstResponseTimeout"/>), or
/// with UNAVAILABLE, moves to the next control-plane address first. Each stream also says where the
/// configuration held stands in the store's change sequence (<see cref="StorePosition"/>), so that a
/// replica behind it refuses the stream rather than send the node back in time. The dataplane node and <see cref="DiscoveryWatcher"/> both
/// run on it.
/// </summary>
public sealed class DeltaDiscoveryStream
{
    private readonly IDiscoveryClient _client;
    private readonly IDeltaResourceHandler _handler;
    private readonly DeltaDiscoveryOptions _options;
    private readonly TimeProvider _time;
    private readonly ExponentialBackoff _backoff;
    private readonly Lock _streamLock = new();
    private CancellationTokenSource? _stream;
    private volatile Uri? _connected;
    private volatile bool _answered;
    private string? _endedBy;
    private volatile string _position = "";

    /// <param name="client">Opens the streams (addresses, dataplane token).</param>
    /// <param name="handler">Holds the resources.</param>
    /// <param name="options">Node identity, reconnect delays.</param>
    /// <param name="time">Clock of the reconnect delays; default the system clock.</param>
    /// <param name="random">Jitter source; default <see cref="Random.Shared"/>.</param>
    public DeltaDiscoveryStream(IDiscoveryClient client, IDeltaResourceHandler handler, DeltaDiscoveryOptions options, TimeProvider? time = null, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.Node?.Id))
        {
            throw new ArgumentException("DeltaDiscoveryOptions.Node.Id is required.", nameof(options));
        }
        if (options.FirstResponseTimeout <= TimeSpan.Zero && options.FirstResponseTimeout != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.FirstResponseTimeout, "DeltaDiscoveryOptions.FirstResponseTimeout must be positive (or infinite).");
        }
        if (options.BackoffResetAfter < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.BackoffResetAfter, "DeltaDiscoveryOptions.BackoffResetAfter must not be negative.");
        }
        _client = client;
        _handler = handler;
        _options = options;
        _time = time ?? TimeProvider.System;
        _backoff = new ExponentialBackoff(options.ReconnectBaseDelay, options.ReconnectMaxDelay, random ?? Random.Shared);
    }

    /// <summary>The control plane whose stream is open and has answered; null otherwise.</summary>
    public Uri? ConnectedAddress => _connected;

    /// <summary>True once the current stream has answered (a response arrived).</summary>
    public bool Answered => _answered;

    /// <summary>
    /// The <c>store_position</c> of the last response accepted (empty: none, or a control plane on the
    /// embedded store): sent when a stream opens, so a replica behind it refuses the stream
    /// (UNAVAILABLE <c>replica_behind</c>) instead of sending older configuration.
    /// </summary>
    public string StorePosition => _position;

    /// <summary>Runs streams, one after another, until <paramref name="stoppingToken"/> ends.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            _answered = false;
            lock (_streamLock)
            {
                _endedBy = null;
            }
            Uri? address = null;
            var openedAt = _time.GetTimestamp();
            string reason;
            try
            {
                await RunStreamAsync(a => address = a, stoppingToken).ConfigureAwait(false);
                reason = "closed by the control plane";
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (OperationCanceledException)
            {
                reason = "restarted on request";
            }
            catch (RpcException ex) when (stoppingToken.IsCancellationRequested && ex.StatusCode == StatusCode.Cancelled)
            {
                break;
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
            lock (_streamLock)
            {
                reason = _endedBy ?? reason; // ended here: say why, not "cancelled"
            }
            _connected = null;
            if (_answered && _time.GetElapsedTime(openedAt) >= _options.BackoffResetAfter)
            {
                // Only a stream that lasted was healthy: one that answered and then dropped (a control
                // plane restarting, or failing every stream) must not bring the next one on at once.
                _backoff.Reset();
            }
            var delay = _backoff.Next();
            if (address is not null)
            {
                _handler.OnStreamEnded(address, reason, delay);
            }
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

    /// <summary>
    /// Ends the current stream (a new one opens after the usual delay) if it has not answered yet,
    /// e.g. because the handler now holds resources (a last-known-good file) that a new stream
    /// should announce in initial_resource_versions. The address that kept it waiting counts as
    /// unavailable: the new stream goes to the next one.
    /// </summary>
    public void RestartIfUnanswered()
    {
        lock (_streamLock)
        {
            if (_stream is { } stream)
            {
                EndUnanswered(stream, "restarted before it answered");
            }
        }
    }

    /// <summary>Under <see cref="_streamLock"/>: ends <paramref name="stream"/> if it is still the current one and has not answered.</summary>
    private void EndUnanswered(CancellationTokenSource stream, string why)
    {
        if (!_answered && ReferenceEquals(_stream, stream) && !stream.IsCancellationRequested)
        {
            _endedBy = why;
            stream.Cancel();
        }
    }

    private async Task RunStreamAsync(Action<Uri> opened, CancellationToken stoppingToken)
    {
        using var stream = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        lock (_streamLock)
        {
            _stream = stream;
        }
        ControlPlaneStream<DeltaResourcesRequest, DeltaResourcesResponse>? call = null;
        // A control plane that takes the stream and never answers (hung, or frozen while its kernel
        // still accepts and acknowledges) must not hold the client: past the deadline the stream ends
        // and, unanswered, its address counts as unavailable.
        using var deadline = _options.FirstResponseTimeout == Timeout.InfiniteTimeSpan
            ? null
            : _time.CreateTimer(_ => NoFirstResponse(stream), null, _options.FirstResponseTimeout, Timeout.InfiniteTimeSpan);
        try
        {
            call = _client.OpenDeltaStream(stream.Token);
            opened(call.Address);
            _handler.OnConnecting(call.Address);
            var first = true;
            foreach (var subscription in _handler.Subscriptions)
            {
                var request = new DeltaResourcesRequest { TypeUrl = subscription.TypeUrl };
                if (first)
                {
                    request.Node = _options.Node;
                    request.StorePosition = _position.Length > 0 ? _position : _handler.StorePosition;
                    first = false;
                }
                request.ResourceNamesSubscribe.Add(subscription.Names);
                foreach (var (name, version) in _handler.Versions(subscription.TypeUrl))
                {
                    request.InitialResourceVersions[name] = version;
                }
                await call.Call.RequestStream.WriteAsync(request, stream.Token).ConfigureAwait(false);
            }
            while (await call.Call.ResponseStream.MoveNext(stream.Token).ConfigureAwait(false))
            {
                var response = call.Call.ResponseStream.Current;
                _answered = true;
                _connected = call.Address;
                deadline?.Dispose();
                // A NACK is an answer with error_detail set (never told by versions); both echo the nonce.
                var answer = new DeltaResourcesRequest { TypeUrl = response.TypeUrl, ResponseNonce = response.Nonce, ErrorDetail = _handler.Apply(response) };
                if (answer.ErrorDetail is null)
                {
                    _position = response.StorePosition;
                }
                await call.Call.RequestStream.WriteAsync(answer, stream.Token).ConfigureAwait(false);
            }
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable && _answered && call is not null)
        {
            // The replica went away or is shutting down ("reconnect to another replica"): the next
            // stream goes to the next address, not back to one on its way down.
            call.ReportUnavailable();
            throw;
        }
        finally
        {
            if (call is not null && !_answered && !stoppingToken.IsCancellationRequested)
            {
                // Nothing came back from this address (it refused, failed, or was given up on after
                // the first-response deadline or a restart): try the next one first.
                call.ReportUnavailable();
            }
            call?.Dispose();
            lock (_streamLock)
            {
                _stream = null;
            }
        }
    }

    private void NoFirstResponse(CancellationTokenSource stream)
    {
        lock (_streamLock)
        {
            EndUnanswered(stream, $"no response within {_options.FirstResponseTimeout}");
        }
    }
}
