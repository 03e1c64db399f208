using System.Collections.Concurrent;
using ControlPlane.Api.V1;
using ControlPlane.Sdk;
using ControlPlane.Sdk.Registration;
using ControlPlane.System.Tests.Infrastructure;

namespace ControlPlane.System.Tests.Replicas;

/// <summary>
/// An agent as the SDK builds one: a <see cref="ControlPlaneClient"/> given every replica's address
/// and an <see cref="InstanceRegistrar"/> that registers instances and keeps them alive over one
/// heartbeat stream, moving to the next address when the one in use is UNAVAILABLE. Every round is
/// kept (when, through which replica, renewed or not found) for the test to assert on.
/// </summary>
internal sealed class HeartbeatAgent : IAsyncDisposable
{
    private readonly ControlPlaneClient _client;
    private readonly InstanceRegistrar _registrar;
    private readonly ConcurrentQueue<HeartbeatRound> _rounds = new();

    public HeartbeatAgent(IEnumerable<ControlPlaneProcess> replicas, TimeSpan? reconnectMaxDelay = null)
    {
        var options = new ControlPlaneClientOptions { PlatformTokenVariable = "", PlatformTokenFileVariable = "", DataplaneTokenVariable = "", DataplaneTokenFileVariable = "" };
        foreach (var replica in replicas)
        {
            options.Addresses.Add(new Uri(replica.GrpcAddress));
        }
        _client = ControlPlaneClient.Create(options);
        _registrar = new InstanceRegistrar(_client.Registry, new InstanceRegistrarOptions
        {
            // An agent with short leases reconnects well within one (the default bound, 10 s, is for 30 s leases).
            ReconnectMaxDelay = reconnectMaxDelay ?? TimeSpan.FromSeconds(1),
        });
        _registrar.RoundCompleted += (_, round) => _rounds.Enqueue(round);
    }

    /// <summary>Every heartbeat round completed so far, oldest first.</summary>
    public IReadOnlyCollection<HeartbeatRound> Rounds => _rounds;

    /// <summary>Heartbeat streams opened (1 while nothing failed).</summary>
    public long StreamsOpened => _registrar.StreamsOpened;

    /// <summary>Registers one instance of <paramref name="image"/> per backend, id <c>{prefix}-{backend}</c>, leases of <paramref name="ttlSeconds"/>; returns the ids.</summary>
    public async Task<string[]> RegisterAsync(string image, string prefix, IReadOnlyList<BackendProcess> backends, int ttlSeconds)
    {
        var requests = backends.Select(b => new RegisterRequest
        {
            Name = image + "-svc",
            Image = image,
            InstanceId = $"{prefix}-{b.InstanceId}",
            Host = "127.0.0.1",
            Port = b.Port,
            Region = "local",
            TtlSeconds = ttlSeconds,
        }).ToList();
        await _registrar.AddAsync(requests).DefaultTimeout();
        return [.. requests.Select(r => r.InstanceId)];
    }

    /// <summary>Starts the heartbeat rounds (every third of the lease).</summary>
    public Task StartAsync() => _registrar.StartAsync(CancellationToken.None).DefaultTimeout();

    /// <summary>Rounds that renewed all of <paramref name="count"/> instances through <paramref name="replica"/>, completed after <paramref name="since"/>.</summary>
    public int RenewedThrough(ControlPlaneProcess replica, int count, DateTimeOffset since) =>
        _rounds.Count(r => r.Address == new Uri(replica.GrpcAddress) && r.Renewed == count && r.CompletedAt > since);

    /// <summary>Stops the rounds without deregistering (the scenario's Redis goes with it).</summary>
    public async ValueTask DisposeAsync()
    {
        await _registrar.DisposeAsync().AsTask().DefaultTimeout();
        _client.Dispose();
    }
}
