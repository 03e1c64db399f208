using ControlPlane.Api.V1;

namespace ControlPlane.LoadBalancing;

/// <summary>One endpoint of a balancer, with what the algorithms need precomputed.</summary>
public sealed class BalancerEndpoint
{
    internal BalancerEndpoint(int index, Endpoint endpoint, int weight)
    {
        Index = index;
        Endpoint = endpoint;
        Weight = weight;
        IsDraining = endpoint.Status == EndpointStatus.Draining;
    }

    /// <summary>Position in the EndpointSet (and in <see cref="ILoadBalancer.Endpoints"/>): the key of <see cref="IEndpointLoad"/> and <see cref="IEndpointHealth"/>.</summary>
    public int Index { get; }

    /// <summary>The endpoint as the EndpointSet carries it. Shared: do not modify it.</summary>
    public Endpoint Endpoint { get; }

    public string InstanceId => Endpoint.InstanceId;

    /// <summary>Effective weight: the policy's weight for this instance, else <c>Endpoint.weight</c>, else 1 (each only when 1-10000).</summary>
    public int Weight { get; }

    /// <summary>Status "draining": no new traffic; picked only when no healthy endpoint exists, by every algorithm.</summary>
    public bool IsDraining { get; }

    public override string ToString() => InstanceId;
}

/// <summary>The <c>Endpoint.status</c> values (resources.proto).</summary>
public static class EndpointStatus
{
    public const string Healthy = "healthy";

    public const string Draining = "draining";
}
