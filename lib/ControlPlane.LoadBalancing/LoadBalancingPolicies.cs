using System.Diagnostics.CodeAnalysis;
using ControlPlane.Api.V1;
using ControlPlane.LoadBalancing.Internal;

namespace ControlPlane.LoadBalancing;

/// <summary>
/// The load-balancing policies by name: the built-in four, or any set given (the dataplane may
/// register more through DI). Builds the balancer a RoutingPolicy asks for.
/// </summary>
public sealed class LoadBalancingPolicies
{
    private readonly Dictionary<string, ILoadBalancingPolicy> _byName = new(StringComparer.Ordinal);

    public LoadBalancingPolicies(IEnumerable<ILoadBalancingPolicy> policies)
    {
        ArgumentNullException.ThrowIfNull(policies);
        foreach (var policy in policies)
        {
            if (!_byName.TryAdd(policy.Name, policy))
            {
                throw new ArgumentException($"Two load-balancing policies are named '{policy.Name}'.", nameof(policies));
            }
        }
    }

    /// <summary>round_robin, least_conn, weighted_rr, consistent_hash.</summary>
    public static IReadOnlyList<ILoadBalancingPolicy> BuiltIn { get; } =
        [new RoundRobinPolicy(), new LeastConnPolicy(), new WeightedRoundRobinPolicy(), new ConsistentHashPolicy()];

    /// <summary>The built-in policies.</summary>
    public static LoadBalancingPolicies Default { get; } = new(BuiltIn);

    public IReadOnlyCollection<string> Names => _byName.Keys;

    public bool TryGet(string name, [NotNullWhen(true)] out ILoadBalancingPolicy? policy) => _byName.TryGetValue(name, out policy);

    /// <summary>
    /// The balancer for <paramref name="endpoints"/> under <paramref name="policy"/>; an absent policy
    /// (or an empty algorithm) means round_robin. Throws <see cref="ArgumentException"/> for an
    /// algorithm with no policy: resources are validated before they are used.
    /// </summary>
    public ILoadBalancer Build(EndpointSet endpoints, RoutingPolicy? policy = null, BalancerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var name = string.IsNullOrEmpty(policy?.Algorithm) ? LoadBalancingAlgorithms.RoundRobin : policy.Algorithm;
        if (!_byName.TryGetValue(name, out var found))
        {
            throw new ArgumentException($"No load-balancing policy is named '{name}'; known: {string.Join(", ", _byName.Keys)}.", nameof(policy));
        }
        return found.Build(endpoints, policy, options ?? BalancerOptions.Default);
    }
}
