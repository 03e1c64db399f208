using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Forwarder;
using ControlPlane.Dataplane.Health;
using ControlPlane.Dataplane.LoadBalancing;
using ControlPlane.LoadBalancing;

namespace ControlPlane.Dataplane.Configuration;

/// <summary>
/// One image inside a <see cref="ProxyConfig"/>: its resources, their versions and the balancer
/// built from them. The configuration is immutable; the mutable runtime state (in-flight counts,
/// passive health, the retry budget) hangs off it, keyed by endpoint index, and is carried over to
/// the next snapshot for endpoints that stay (same instance id, host and port).
/// </summary>
public sealed class ImageRoute : IEndpointLoad, IEndpointHealth
{
    internal ImageRoute(
        ImageConfig config,
        EndpointSet endpoints,
        ILoadBalancer balancer,
        UpstreamDestination[] destinations,
        EndpointState[] states,
        ImageHealth health,
        RetryBudget retryBudget)
    {
        Image = config.Image;
        ForwardedPrefix = ProxyPath.Mount + "/" + config.Image;
        Endpoints = endpoints;
        Policy = config.Policy;
        EndpointsVersion = config.EndpointsVersion;
        PolicyVersion = config.PolicyVersion ?? (string.IsNullOrEmpty(config.Policy?.Version) ? null : config.Policy.Version);
        Balancer = balancer;
        StickyKey = string.IsNullOrEmpty(config.Policy?.StickyKey) ? null : config.Policy.StickyKey;
        Destinations = destinations;
        States = states;
        Health = health;
        RetryBudget = retryBudget;
    }

    public string Image { get; }

    /// <summary><c>/g/{image}</c>, the usual <c>X-Forwarded-Prefix</c>, made once.</summary>
    internal string ForwardedPrefix { get; }

    /// <summary>The endpoints, in the order of <see cref="ILoadBalancer.Endpoints"/>. Shared: do not modify.</summary>
    public EndpointSet Endpoints { get; }

    /// <summary>The routing policy; null = round_robin. Shared: do not modify.</summary>
    public RoutingPolicy? Policy { get; }

    public string? EndpointsVersion { get; }

    public string? PolicyVersion { get; }

    /// <summary>Built once for this snapshot from <see cref="Endpoints"/> and <see cref="Policy"/>.</summary>
    public ILoadBalancer Balancer { get; }

    /// <summary>The policy's sticky_key, or null.</summary>
    public string? StickyKey { get; }

    /// <summary>Where each endpoint is forwarded to, by endpoint index.</summary>
    internal UpstreamDestination[] Destinations { get; }

    /// <summary>Runtime state of each endpoint, by endpoint index.</summary>
    internal EndpointState[] States { get; }

    /// <summary>Passive health of the image (shared by its successive snapshots).</summary>
    internal ImageHealth Health { get; }

    /// <summary>The image's retry budget (shared by its successive snapshots).</summary>
    internal RetryBudget RetryBudget { get; }

    int IEndpointLoad.GetOutstandingRequests(int endpointIndex) => States[endpointIndex].Outstanding;

    int IEndpointHealth.EjectedCount => Health.EjectedCount;

    bool IEndpointHealth.IsEjected(int endpointIndex) => Health.IsEjected(States[endpointIndex]);

    public override string ToString() => $"{Image} ({Endpoints.Endpoints.Count} endpoints, {Balancer.Algorithm})";
}
