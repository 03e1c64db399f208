using ControlPlane.Api.V1;

namespace ControlPlane.LoadBalancing;

/// <summary>
/// One load-balancing algorithm, found by <see cref="Name"/> (YARP's <c>ILoadBalancingPolicy</c>
/// shape). It does no per-request work itself: it builds an immutable <see cref="ILoadBalancer"/>
/// once per (EndpointSet version, RoutingPolicy version), and the hot path picks on that.
/// </summary>
public interface ILoadBalancingPolicy
{
    /// <summary>The <c>RoutingPolicy.algorithm</c> value this policy implements (e.g. "weighted_rr").</summary>
    string Name { get; }

    /// <summary>A balancer over <paramref name="endpoints"/> configured by <paramref name="policy"/> (null: no stored policy).</summary>
    ILoadBalancer Build(EndpointSet endpoints, RoutingPolicy? policy, BalancerOptions options);
}
