using System.Net;
using System.Text.Json;
using ControlPlane.Api.V1;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Discovery.Cache;
using ControlPlane.Server.Registry;
using ControlPlane.Server.Replication;
using ControlPlane.Server.Tests.Ops;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.DependencyInjection;
using static ControlPlane.Server.Tests.Policies.RestCalls;

namespace ControlPlane.Server.Tests.Replication;

/// <summary>One control-plane replica of a <see cref="ReplicaSet"/>: the host as the README runs it, on Redis.</summary>
internal sealed class Replica : IAsyncDisposable
{
    private bool _stopped;

    public Replica(string id, ControlPlaneFixture host)
    {
        Id = id;
        Host = host;
        Channel = host.CreateChannel();
        Http = host.CreateHttpClient();
    }

    /// <summary>The replica's control_plane_id.</summary>
    public string Id { get; }

    public ControlPlaneFixture Host { get; }

    public GrpcChannel Channel { get; }

    public HttpClient Http { get; }

    public IServiceProvider Services => Host.Services;

    public IResourceWatch Cache => Services.GetRequiredService<IResourceWatch>();

    public ServiceRegistry Registry => Services.GetRequiredService<ServiceRegistry>();

    public ExpiryScheduler Expiry => Services.GetRequiredService<ExpiryScheduler>();

    internal ChangeFollower Follower => Services.GetRequiredService<ChangeFollower>();

    /// <summary>Registers an instance through this replica (the registry service, as its gRPC and REST handlers call it).</summary>
    public Task<RegisterResponse> RegisterAsync(string id, string image, int port, int ttl = 3600, string? metadataJson = null) =>
        Registry.RegisterAsync(new RegisterRequest
        {
            InstanceId = id,
            Name = "svc-" + image,
            Image = image,
            Host = "10.0.0.1",
            Port = port,
            Region = "eu-central",
            Metadata = metadataJson is null ? null : Struct.Parser.ParseJson(metadataJson),
            TtlSeconds = ttl,
        }).DefaultTimeout();

    public Task DeregisterAsync(string id) => Registry.DeregisterAsync(new DeregisterRequest { InstanceId = id }).DefaultTimeout();

    /// <summary>PUT /v1/policy/{image} on this replica's REST port, as the reference's curl example does.</summary>
    public async Task SetPolicyAsync(string image, string json) =>
        await JsonAsync(await SendAsync(Http, HttpMethod.Put, "/v1/policy/" + image, json, ReplicaSet.Token), HttpStatusCode.OK);

    /// <summary>DELETE /v1/policy/{image} on this replica's REST port.</summary>
    public async Task DeletePolicyAsync(string image) =>
        await JsonAsync(await SendAsync(Http, HttpMethod.Delete, "/v1/policy/" + image, null, ReplicaSet.Token), HttpStatusCode.OK);

    /// <summary>GET on this replica's REST port, the JSON answer (expecting <paramref name="expected"/>).</summary>
    public async Task<JsonElement> GetJsonAsync(string path, HttpStatusCode expected = HttpStatusCode.OK) =>
        await JsonAsync(await Http.GetAsync(path).DefaultTimeout(), expected);

    /// <summary>The cache's version of <paramref name="name"/>, or null.</summary>
    public string? VersionOf(string typeUrl, string name) => Cache.Snapshot(typeUrl).Find(name)?.Version;

    /// <summary>The cache's endpoint set of <paramref name="image"/>, decoded, or null.</summary>
    public EndpointSet? EndpointsOf(string image) => Discovery.DiscoveryHost.EndpointsOf(Cache, image);

    /// <summary>Waits until this replica's cache satisfies <paramref name="condition"/>, re-checking after every change it applies.</summary>
    public async Task WaitForCacheAsync(Func<IResourceWatch, bool> condition, string what)
    {
        using var changed = new SemaphoreSlim(0);
        using var watch = Cache.Watch(_ => changed.Release());
        var deadline = DateTime.UtcNow + TaskTimeoutExtensions.Timeout;
        while (!condition(Cache))
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || !await changed.WaitAsync(left))
            {
                throw new TimeoutException($"Timed out waiting for replica {Id}'s cache to hold {what}");
            }
        }
    }

    /// <summary>The Prometheus text of /metrics.</summary>
    public Task<string> MetricsAsync() => Http.GetStringAsync("/metrics").DefaultTimeout();

    /// <summary>Log entries of <paramref name="eventId"/> this replica wrote.</summary>
    public IReadOnlyList<JsonElement> LogsOf(int eventId) => [.. Host.Logs.Entries.Where(e => e.GetProperty("event_id").GetInt32() == eventId)];

    /// <summary>Stops the replica as a shutdown does (its streams end, its nodes fail over).</summary>
    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            Channel.Dispose();
            Http.Dispose();
            await Host.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
