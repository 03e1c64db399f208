namespace ControlPlane.LoadBalancing;

/// <summary>
/// A balancer built for one endpoint set and one policy. Its configuration never changes; its only
/// mutable state is the algorithm's position (a rotation counter, smooth-WRR weights), updated
/// thread-safely. A new endpoint set or policy means a new balancer, swapped in atomically by the caller.
/// </summary>
public interface ILoadBalancer
{
    /// <summary>The algorithm name (<see cref="LoadBalancingAlgorithms"/>).</summary>
    string Algorithm { get; }

    /// <summary>The endpoints, in EndpointSet order; <see cref="BalancerEndpoint.Index"/> is the position here.</summary>
    IReadOnlyList<BalancerEndpoint> Endpoints { get; }

    /// <summary>
    /// Picks the endpoint for one request: thread-safe and allocation-free. Null only when no
    /// endpoint can be used (an empty set, every one ejected with the panic threshold disabled, or
    /// every one already in <see cref="PickContext.Tried"/>); never an endpoint of <see cref="PickContext.Tried"/>.
    /// </summary>
    BalancerEndpoint? Pick(in PickContext context);

    /// <summary>
    /// A pick that also says why, and how every endpoint was judged (for the route preview and
    /// debugging). It is a real pick: it advances the balancer exactly as <see cref="Pick"/> would,
    /// so a preview must run it on a balancer of its own. It allocates; keep it off the hot path.
    /// </summary>
    PickExplanation Explain(in PickContext context);
}
