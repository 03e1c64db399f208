using System.Text.Json.Nodes;
using ControlPlane.Api.V1;
using ControlPlane.Sdk.Clients;
using ControlPlane.Sdk.Registration;
using Microsoft.Extensions.Logging;

namespace ControlPlane.Agents.Runtime;

/// <summary>
/// The instances the sd-agent keeps alive in this process, on the SDK's <see cref="InstanceRegistrar"/>:
/// one registrar (one heartbeat stream) per lease length, beating every ttl/2 as the reference's
/// sd-agent does. The chaos-agent releases an instance from here to let it expire, which is why the
/// heartbeats live in the runtime and not in one action's call. Failures are reported
/// (platform-agents-spec §5.1 step 4): a warning per failed round and per lost lease, and after
/// AGENT_RETRY retries an alert on the user channel, once per outage.
/// </summary>
internal sealed class HeartbeatPool(IRegistryClient registry, TimeProvider time, ILoggerFactory loggers, AgentLog log, UserChannel channel, int retries) : IAsyncDisposable
{
    private static readonly LogContext Context = new("sd-agent", "heartbeat", null, "");
    private readonly Dictionary<int, InstanceRegistrar> _registrars = [];
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly Lock _alertLock = new();
    private readonly CancellationTokenSource _disposing = new();
    private Task _alerts = Task.CompletedTask;
    private bool _alerted;

    public int Count
    {
        get
        {
            lock (_registrars)
            {
                return _registrars.Values.Sum(r => r.Count);
            }
        }
    }

    public IReadOnlyList<string> Owned(IEnumerable<string> ids) => [.. ids.Where(Owns)];

    public bool Owns(string instanceId)
    {
        lock (_registrars)
        {
            return _registrars.Values.Any(r => r.Contains(instanceId));
        }
    }

    /// <summary>The beat interval used for a lease of <paramref name="ttlSeconds"/>.</summary>
    public static TimeSpan IntervalFor(int ttlSeconds) => TimeSpan.FromSeconds(ttlSeconds / 2.0);

    /// <summary>Registers <paramref name="request"/> and keeps it alive (a refused registration throws the SDK's ControlPlaneException).</summary>
    public async Task AddAsync(RegisterRequest request, CancellationToken cancellationToken)
    {
        var registrar = await RegistrarForAsync(request.TtlSeconds, cancellationToken).ConfigureAwait(false);
        await registrar.AddAsync(request, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops heartbeating <paramref name="instanceId"/> without deregistering it; false when not kept here.</summary>
    public bool Release(string instanceId)
    {
        lock (_registrars)
        {
            return _registrars.Values.Any(r => r.Release(instanceId));
        }
    }

    /// <summary>Stops heartbeating and deregisters <paramref name="instanceId"/>; false when not kept here.</summary>
    public async Task<bool> RemoveAsync(string instanceId, CancellationToken cancellationToken)
    {
        InstanceRegistrar? owner;
        lock (_registrars)
        {
            owner = _registrars.Values.FirstOrDefault(r => r.Contains(instanceId));
        }
        return owner is not null && await owner.RemoveAsync(instanceId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Drains and deregisters every kept instance (cpctl sd register on Ctrl-C); returns those that could not be deregistered (id, why).</summary>
    public async Task<IReadOnlyDictionary<string, string>> StopAsync(CancellationToken cancellationToken)
    {
        List<InstanceRegistrar> registrars;
        lock (_registrars)
        {
            registrars = [.. _registrars.Values];
            _registrars.Clear();
        }
        var failed = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var registrar in registrars)
        {
            foreach (var (id, reason) in await registrar.DrainAndDeregisterAsync(cancellationToken).ConfigureAwait(false))
            {
                failed[id] = reason;
            }
            await registrar.DisposeAsync().ConfigureAwait(false);
        }
        return failed;
    }

    /// <summary>Stops the heartbeats without deregistering (the leases run out).</summary>
    public async ValueTask DisposeAsync()
    {
        List<InstanceRegistrar> registrars;
        lock (_registrars)
        {
            registrars = [.. _registrars.Values];
            _registrars.Clear();
        }
        foreach (var registrar in registrars)
        {
            await registrar.DisposeAsync().ConfigureAwait(false);
        }
        Task alerts;
        lock (_alertLock)
        {
            alerts = _alerts;
        }
        try
        {
            // An alert being posted gets a few seconds to arrive; then it is cut short.
            await alerts.WaitAsync(TimeSpan.FromSeconds(5), time).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            await _disposing.CancelAsync().ConfigureAwait(false);
        }
        _disposing.Dispose();
        _lock.Dispose();
    }

    private void OnRoundFailed(object? sender, HeartbeatFailure failure)
    {
        log.Warn(Context, "heartbeat round failed: the leases were not renewed", ("address", failure.Address.ToString()), ("reason", failure.Reason),
            ("instances", failure.Instances), ("consecutive_failures", failure.ConsecutiveFailures), ("retry_in_ms", failure.RetryIn));
        if (failure.ConsecutiveFailures <= retries)
        {
            return;
        }
        lock (_alertLock)
        {
            if (_alerted)
            {
                return;
            }
            _alerted = true;
            var text = $"sd-agent: heartbeats to {failure.Address} failed {(failure.ConsecutiveFailures == 1 ? "once" : $"{failure.ConsecutiveFailures} times in a row")} ({failure.Reason}); {failure.Instances} instance(s) may expire when their leases run out";
            var data = new JsonObject { ["code"] = AgentErrorCodes.BackendUnreachable, ["instances"] = failure.Instances, ["address"] = failure.Address.ToString() };
            // Posted off the registrar's loop, which must keep beating.
            _alerts = _alerts.ContinueWith(_ => channel.PostAsync(Context, "alert", text, data, _disposing.Token), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();
        }
    }

    private void OnRoundCompleted(object? sender, HeartbeatRound round)
    {
        lock (_alertLock)
        {
            if (_alerted)
            {
                _alerted = false;
                log.Warn(Context, "heartbeats succeed again", ("address", round.Address.ToString()), ("renewed", round.Renewed));
            }
        }
        if (round.NotFound > 0)
        {
            log.Warn(Context, "leases lost: instances unknown to the control plane (expired during the outage)", ("lost", round.NotFound), ("registered_again", round.Reregistered));
        }
    }

    private async Task<InstanceRegistrar> RegistrarForAsync(int ttlSeconds, CancellationToken cancellationToken)
    {
        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            lock (_registrars)
            {
                if (_registrars.TryGetValue(ttlSeconds, out var existing))
                {
                    return existing;
                }
            }
            var registrar = new InstanceRegistrar(registry, new InstanceRegistrarOptions { BeatInterval = IntervalFor(ttlSeconds) }, time, loggers.CreateLogger<InstanceRegistrar>());
            registrar.RoundFailed += OnRoundFailed;
            registrar.RoundCompleted += OnRoundCompleted;
            await registrar.StartAsync(cancellationToken).ConfigureAwait(false);
            lock (_registrars)
            {
                _registrars[ttlSeconds] = registrar;
            }
            return registrar;
        }
        finally
        {
            _lock.Release();
        }
    }
}
