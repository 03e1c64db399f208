using ControlPlane.Api.V1;
using ControlPlane.Sdk.Clients;
using ControlPlane.Sdk.Registration;

namespace ControlPlane.Agents.Runtime;

/// <summary>
/// The instances the sd-agent keeps alive in this process, on the SDK's <see cref="InstanceRegistrar"/>:
/// one registrar (one heartbeat stream) per lease length, beating every ttl/2 as the reference's
/// sd-agent does. The chaos-agent releases an instance from here to let it expire, which is why the
/// heartbeats live in the runtime and not in one action's call.
/// </summary>
internal sealed class HeartbeatPool(IRegistryClient registry, TimeProvider time) : IAsyncDisposable
{
    private readonly Dictionary<int, InstanceRegistrar> _registrars = [];
    private readonly SemaphoreSlim _lock = new(1, 1);

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

    /// <summary>Drains and deregisters every kept instance (cpctl sd register on Ctrl-C).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        List<InstanceRegistrar> registrars;
        lock (_registrars)
        {
            registrars = [.. _registrars.Values];
            _registrars.Clear();
        }
        foreach (var registrar in registrars)
        {
            await registrar.StopAsync(cancellationToken).ConfigureAwait(false);
            await registrar.DisposeAsync().ConfigureAwait(false);
        }
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
        _lock.Dispose();
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
            var registrar = new InstanceRegistrar(registry, new InstanceRegistrarOptions { BeatInterval = IntervalFor(ttlSeconds) }, time);
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
