using System.Collections.Concurrent;
using System.Threading.Channels;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Sdk.Clients;
using ControlPlane.Sdk.Internal;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ControlPlane.Sdk.Registration;

/// <summary>
/// Registers instances and keeps them alive over ONE <c>HeartbeatStream</c>, whatever their number
/// (etcd's lease keep-alive shape): every round renews all of them, in messages of up to 1000 ids,
/// every third of the shortest lease. An instance the control plane no longer knows (NOT_FOUND:
/// it expired during an outage, or a replica lost it) is registered again from the request it was
/// added with. A broken stream is reopened after an exponential, fully jittered delay, on the next
/// address when the last one was UNAVAILABLE. On stop every instance is first marked draining, kept
/// alive for <see cref="InstanceRegistrarOptions.DrainPeriod"/>, then deregistered.
/// <para>
/// Use it as a hosted service (<c>services.AddHostedService(sp =&gt; registrar)</c>) or call
/// <see cref="StartAsync"/>/<see cref="StopAsync"/> yourself; add instances before or after start.
/// </para>
/// </summary>
public sealed class InstanceRegistrar : IHostedService, IAsyncDisposable
{
    private readonly IRegistryClient _registry;
    private readonly InstanceRegistrarOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, RegisterRequest> _instances = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _grantedTtls = new(StringComparer.Ordinal);
    private readonly Channel<bool> _beatDue = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ExponentialBackoff _backoff;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _timerLock = new();
    private ITimer? _timer;
    private static readonly TimeSpan DefaultAnswerTimeout = TimeSpan.FromSeconds(5);
    private TimeSpan _interval = Timeout.InfiniteTimeSpan;
    private Task _loop = Task.CompletedTask;
    private long _streamsOpened;
    private int _disposed;

    /// <param name="registry">The registry client (from <see cref="ControlPlaneClient.Registry"/> or DI).</param>
    /// <param name="options">Beat interval, batch size, drain period.</param>
    /// <param name="time">Clock of beats, backoff and the drain period; default the system clock.</param>
    /// <param name="logger">Where stream failures and re-registrations are logged.</param>
    /// <param name="random">Jitter source; default <see cref="Random.Shared"/>.</param>
    public InstanceRegistrar(IRegistryClient registry, InstanceRegistrarOptions? options = null, TimeProvider? time = null, ILogger<InstanceRegistrar>? logger = null, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _registry = registry;
        _options = options ?? new InstanceRegistrarOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxIdsPerBeat, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.MaxIdsPerBeat, 1000);
        ArgumentOutOfRangeException.ThrowIfLessThan(_options.MaxConcurrentCalls, 1);
        if (_options.AnswerTimeout is { } answerTimeout && answerTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), answerTimeout, "InstanceRegistrarOptions.AnswerTimeout must be positive.");
        }
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _backoff = new ExponentialBackoff(_options.ReconnectBaseDelay, _options.ReconnectMaxDelay, random ?? Random.Shared);
    }

    /// <summary>Raised after each heartbeat round (on the registrar's loop; keep handlers short).</summary>
    public event EventHandler<HeartbeatRound>? RoundCompleted;

    /// <summary>
    /// Raised after each round that failed (the stream broke or could not be opened), before the
    /// reconnect delay, on the registrar's loop; keep handlers short. The leases are not renewed
    /// until a round succeeds.
    /// </summary>
    public event EventHandler<HeartbeatFailure>? RoundFailed;

    /// <summary>Instances kept alive.</summary>
    public int Count => _instances.Count;

    /// <summary>Heartbeat streams opened so far (1 while nothing fails).</summary>
    public long StreamsOpened => Interlocked.Read(ref _streamsOpened);

    /// <summary>The time between rounds now in use (infinite while no instance is kept).</summary>
    public TimeSpan BeatInterval => _interval;

    /// <summary>
    /// Registers <paramref name="instances"/> now (several calls in parallel) and keeps them alive
    /// from then on. Throws <see cref="ControlPlaneException"/> for the first refused registration;
    /// the instances registered before it are kept.
    /// </summary>
    public async Task AddAsync(IEnumerable<RegisterRequest> instances, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instances);
        await ForEachAsync(instances.ToList(), async (request, ct) =>
        {
            var response = await _registry.RegisterAsync(request, ct).ConfigureAwait(false);
            Keep(request, response);
        }, cancellationToken).ConfigureAwait(false);
        UpdateInterval();
    }

    /// <summary>Registers one instance now and keeps it alive.</summary>
    public Task AddAsync(RegisterRequest instance, CancellationToken cancellationToken = default) => AddAsync([instance], cancellationToken);

    /// <summary>Stops keeping <paramref name="instanceId"/> alive and deregisters it (no drain); false when it was not kept.</summary>
    public async Task<bool> RemoveAsync(string instanceId, CancellationToken cancellationToken = default)
    {
        if (!_instances.TryRemove(instanceId, out _))
        {
            return false;
        }
        _grantedTtls.TryRemove(instanceId, out _);
        UpdateInterval();
        await _registry.DeregisterAsync(new DeregisterRequest { InstanceId = instanceId }, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>
    /// Stops keeping <paramref name="instanceId"/> alive without deregistering it, so its lease runs
    /// out and it expires as if its process had died (the chaos-agent's expire-instance, or handing
    /// the instance to another owner). A round already in flight may renew it once more. False when
    /// it was not kept.
    /// </summary>
    public bool Release(string instanceId)
    {
        if (!_instances.TryRemove(instanceId, out _))
        {
            return false;
        }
        _grantedTtls.TryRemove(instanceId, out _);
        UpdateInterval();
        return true;
    }

    /// <summary>Whether <paramref name="instanceId"/> is kept alive by this registrar.</summary>
    public bool Contains(string instanceId) => _instances.ContainsKey(instanceId);

    /// <summary>
    /// Registers <see cref="InstanceRegistrarOptions.Instances"/> (a refusal fails the start), then
    /// starts the heartbeat rounds (the timer is armed before this returns).
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var initial = _options.Instances.Where(i => !_instances.ContainsKey(i.InstanceId)).ToList();
        if (initial.Count > 0)
        {
            await AddAsync(initial, cancellationToken).ConfigureAwait(false);
        }
        lock (_timerLock)
        {
            if (_timer is not null)
            {
                throw new InvalidOperationException("The registrar is already started.");
            }
            _timer = _time.CreateTimer(static s => ((InstanceRegistrar)s!)._beatDue.Writer.TryWrite(true), this, _interval, _interval);
        }
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
    }

    /// <summary>
    /// Marks every instance draining, keeps heartbeating them for the drain period, then stops the
    /// stream and deregisters them. <paramref name="cancellationToken"/> (the host's shutdown
    /// timeout) cuts the drain period short; deregistration is still attempted.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken) => DrainAndDeregisterAsync(cancellationToken);

    /// <summary>
    /// <see cref="StopAsync"/>, telling which instances could not be deregistered (instance id, the
    /// error): they stay registered until their lease runs out. Empty when every one is gone (an
    /// instance the control plane no longer knows counts as gone).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> DrainAndDeregisterAsync(CancellationToken cancellationToken)
    {
        var ids = _instances.Keys.ToList();
        var failed = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        if (ids.Count > 0)
        {
            RegistrarLog.Draining(_logger, ids.Count, _options.DrainPeriod);
            await ForEachAsync(ids, (id, ct) => CallOnStopAsync("Drain", id, () => _registry.DrainInstanceAsync(new DrainInstanceRequest { InstanceId = id }, ct), null), cancellationToken).ConfigureAwait(false);
            try
            {
                await Task.Delay(_options.DrainPeriod, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The host is out of time: deregister now.
            }
        }
        await StopLoopAsync().ConfigureAwait(false);
        await ForEachAsync(ids, (id, ct) => CallOnStopAsync("Deregistration", id, () => _registry.DeregisterAsync(new DeregisterRequest { InstanceId = id }, ct), failed), CancellationToken.None).ConfigureAwait(false);
        _instances.Clear();
        _grantedTtls.Clear();
        return failed;
    }

    /// <summary>Stops the heartbeat rounds without draining or deregistering (the leases then run out).</summary>
    public async ValueTask DisposeAsync()
    {
        // Once: a container that registered it as a hosted service too disposes it twice.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await StopLoopAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task StopLoopAsync()
    {
        if (!_stopping.IsCancellationRequested)
        {
            await _stopping.CancelAsync().ConfigureAwait(false);
        }
        lock (_timerLock)
        {
            _timer?.Dispose();
        }
        await _loop.ConfigureAwait(false);
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        HeartbeatSession? session = null;
        try
        {
            while (await _beatDue.Reader.WaitToReadAsync(stopping).ConfigureAwait(false))
            {
                _beatDue.Reader.TryRead(out _);
                // Until a round succeeds: a failed round reconnects after a delay and beats again at
                // once, since this beat is already due.
                var failures = 0;
                while (!stopping.IsCancellationRequested)
                {
                    session ??= Open();
                    try
                    {
                        await RoundAsync(session, stopping).ConfigureAwait(false);
                        _backoff.Reset();
                        break;
                    }
                    catch (Exception ex) when (ex is RpcException or InvalidOperationException && !stopping.IsCancellationRequested)
                    {
                        if (ex is RpcException { StatusCode: StatusCode.Unavailable })
                        {
                            session.ReportUnavailable();
                        }
                        var delay = _backoff.Next();
                        var reason = ex is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : ex.Message;
                        RegistrarLog.StreamFailed(_logger, session.Address, reason, delay);
                        Raise(RoundFailed, new HeartbeatFailure(session.Address, reason, ++failures, _instances.Count, delay, _time.GetUtcNow()));
                        session.Dispose();
                        session = null;
                        await Task.Delay(delay, _time, stopping).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (Exception ex) when (stopping.IsCancellationRequested && ex is OperationCanceledException or RpcException or InvalidOperationException)
        {
            // Stopping cancels the round in flight: its call ends CANCELLED, which is the end we asked for.
        }
        finally
        {
            if (session is not null)
            {
                using var close = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await session.CloseAsync(close.Token).ConfigureAwait(false);
                session.Dispose();
            }
        }
    }

    private HeartbeatSession Open()
    {
        var session = new HeartbeatSession(_registry.OpenHeartbeatStream(_stopping.Token));
        Interlocked.Increment(ref _streamsOpened);
        RegistrarLog.StreamOpened(_logger, session.Address, _instances.Count, _interval);
        return session;
    }

    /// <summary>The longest silence a round accepts from the control plane (<see cref="InstanceRegistrarOptions.AnswerTimeout"/>).</summary>
    private TimeSpan AnswerTimeout
    {
        get
        {
            if (_options.AnswerTimeout is { } configured)
            {
                return configured;
            }
            var interval = _interval;
            return interval > TimeSpan.Zero && interval < DefaultAnswerTimeout ? interval : DefaultAnswerTimeout;
        }
    }

    private async Task RoundAsync(HeartbeatSession session, CancellationToken stopping)
    {
        var ids = _instances.Keys.ToList();
        if (ids.Count == 0)
        {
            return;
        }
        var (results, messages) = await session.BeatAsync(ids, _options.MaxIdsPerBeat, AnswerTimeout, _time, stopping).ConfigureAwait(false);
        int renewed = 0, invalid = 0;
        var notFound = new List<RegisterRequest>();
        foreach (var result in results)
        {
            switch (result.Outcome)
            {
                case HeartbeatOutcome.Renewed:
                    renewed++;
                    break;
                case HeartbeatOutcome.NotFound when _instances.TryGetValue(result.InstanceId, out var request):
                    notFound.Add(request);
                    break;
                case HeartbeatOutcome.InvalidArgument:
                    invalid++;
                    RegistrarLog.InvalidId(_logger, result.InstanceId, result.Message);
                    _instances.TryRemove(result.InstanceId, out _);
                    break;
            }
        }
        var reregistered = notFound.Count == 0 ? 0 : await ReregisterAsync(notFound, stopping).ConfigureAwait(false);
        Raise(RoundCompleted, new HeartbeatRound(messages, renewed, notFound.Count, reregistered, invalid, session.Address, _time.GetUtcNow()));
    }

    private async Task<int> ReregisterAsync(List<RegisterRequest> requests, CancellationToken stopping)
    {
        RegistrarLog.Reregistering(_logger, requests.Count);
        var done = 0;
        await ForEachAsync(requests, async (request, ct) =>
        {
            try
            {
                var response = await _registry.RegisterAsync(request, ct).ConfigureAwait(false);
                if (_instances.ContainsKey(request.InstanceId))
                {
                    Keep(request, response);
                }
                Interlocked.Increment(ref done);
            }
            catch (ControlPlaneException ex)
            {
                RegistrarLog.ReregisterFailed(_logger, request.InstanceId, ex.ErrorCode, ex.Detail);
            }
        }, stopping).ConfigureAwait(false);
        UpdateInterval();
        return done;
    }

    private void Keep(RegisterRequest request, RegisterResponse response)
    {
        _instances[request.InstanceId] = request;
        var ttl = response.Instance?.TtlSeconds is > 0 and var granted ? granted : request.TtlSeconds;
        if (ttl > 0)
        {
            _grantedTtls[request.InstanceId] = ttl;
        }
    }

    /// <summary>A third of the shortest lease (or the configured interval), applied to the timer when it changed.</summary>
    private void UpdateInterval()
    {
        var interval = _options.BeatInterval
            ?? (_grantedTtls.IsEmpty ? Timeout.InfiniteTimeSpan : TimeSpan.FromSeconds(_grantedTtls.Values.Min() / 3.0));
        if (_instances.IsEmpty)
        {
            interval = Timeout.InfiniteTimeSpan;
        }
        lock (_timerLock)
        {
            if (interval == _interval)
            {
                return;
            }
            _interval = interval;
            _timer?.Change(interval, interval);
        }
    }

    private async Task CallOnStopAsync<T>(string action, string instanceId, Func<Task<T>> call, ConcurrentDictionary<string, string>? failed)
    {
        try
        {
            await call().ConfigureAwait(false);
        }
        catch (ControlPlaneException ex) when (ex.StatusCode != StatusCode.NotFound)
        {
            RegistrarLog.StopCallFailed(_logger, action, instanceId, ex.ErrorCode, ex.Detail);
            failed?.TryAdd(instanceId, $"{ex.ErrorCode}: {ex.Detail}");
        }
        catch (ControlPlaneException)
        {
            // Already gone: nothing to drain or deregister.
        }
    }

    private Task ForEachAsync<T>(IReadOnlyCollection<T> items, Func<T, CancellationToken, Task> action, CancellationToken cancellationToken) =>
        Parallel.ForEachAsync(items, new ParallelOptions { MaxDegreeOfParallelism = _options.MaxConcurrentCalls, CancellationToken = cancellationToken },
            async (item, ct) => await action(item, ct).ConfigureAwait(false));

    /// <summary>Tells the subscribers of <paramref name="handler"/>; a subscriber's bug is logged, never stops the heartbeats.</summary>
    private void Raise<T>(EventHandler<T>? handler, T args)
    {
        try
        {
            handler?.Invoke(this, args);
        }
#pragma warning disable CA1031 // a subscriber's bug must not stop the heartbeats
        catch (Exception ex)
#pragma warning restore CA1031
        {
            RegistrarLog.HandlerFailed(_logger, ex);
        }
    }
}
