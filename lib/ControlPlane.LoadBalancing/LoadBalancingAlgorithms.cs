namespace ControlPlane.LoadBalancing;

/// <summary>The algorithm names of <c>RoutingPolicy.algorithm</c> (resources.proto), as the reference spells them.</summary>
public static class LoadBalancingAlgorithms
{
    /// <summary>Each endpoint in turn. Also the algorithm of an image without a stored policy.</summary>
    public const string RoundRobin = "round_robin";

    /// <summary>Least outstanding requests between two endpoints drawn at random (power of two choices).</summary>
    public const string LeastConn = "least_conn";

    /// <summary>Smooth weighted round robin (nginx's algorithm) with the policy's weights, else each endpoint's weight.</summary>
    public const string WeightedRoundRobin = "weighted_rr";

    /// <summary>A hash ring over the policy's sticky value: the same value reaches the same endpoint.</summary>
    public const string ConsistentHash = "consistent_hash";

    /// <summary>Every built-in name, in the order the API documents them.</summary>
    public static IReadOnlyList<string> All { get; } = [RoundRobin, LeastConn, WeightedRoundRobin, ConsistentHash];
}
