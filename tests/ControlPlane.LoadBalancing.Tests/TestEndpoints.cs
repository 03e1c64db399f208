using ControlPlane.Api.V1;

namespace ControlPlane.LoadBalancing.Tests;

/// <summary>Endpoint sets and policies as the control plane pushes them, and fake load and health.</summary>
internal static class TestEndpoints
{
    /// <summary>Endpoints named by id; "id:draining" marks a draining one, "id*3" gives it metadata weight 3.</summary>
    public static EndpointSet Set(params string[] specs)
    {
        var set = new EndpointSet { Image = "img.test" };
        var port = 9000;
        foreach (var spec in specs)
        {
            var id = spec;
            var status = EndpointStatus.Healthy;
            var weight = 1;
            if (id.EndsWith(":draining", StringComparison.Ordinal))
            {
                id = id[..^":draining".Length];
                status = EndpointStatus.Draining;
            }
            if (id.Contains('*', StringComparison.Ordinal))
            {
                weight = int.Parse(id[(id.IndexOf('*', StringComparison.Ordinal) + 1)..], System.Globalization.CultureInfo.InvariantCulture);
                id = id[..id.IndexOf('*', StringComparison.Ordinal)];
            }
            set.Endpoints.Add(new Endpoint { InstanceId = id, ServiceName = "svc", Host = "10.0.0.1", Port = port++, Weight = weight, Status = status });
        }
        return set;
    }

    /// <summary>n healthy endpoints "e000", "e001", ...</summary>
    public static EndpointSet Many(int n, int firstId = 0) =>
        Set([.. Enumerable.Range(firstId, n).Select(i => $"e{i:D3}")]);

    public static RoutingPolicy Policy(string algorithm, string stickyKey = "", params (string Id, int Weight)[] weights)
    {
        var policy = new RoutingPolicy { Image = "img.test", Algorithm = algorithm, StickyKey = stickyKey };
        foreach (var (id, weight) in weights)
        {
            policy.Weights[id] = weight;
        }
        return policy;
    }

    public static readonly BalancerOptions Fixed = new() { RandomizeStart = false, Random = new Random(1) };

    public static ILoadBalancer Build(string algorithm, EndpointSet set, BalancerOptions? options = null, RoutingPolicy? policy = null) =>
        LoadBalancingPolicies.Default.Build(set, policy ?? Policy(algorithm), options ?? Fixed with { Random = new Random(1) });

    public static string[] Picks(ILoadBalancer balancer, int count, IEndpointHealth? health = null, IEndpointLoad? load = null) =>
        Enumerable.Range(0, count).Select(_ => balancer.Pick(new PickContext(default, load, health))?.InstanceId ?? "-").ToArray();

    public static Dictionary<string, int> Counts(IEnumerable<string> picks) =>
        picks.GroupBy(p => p).ToDictionary(g => g.Key, g => g.Count());
}

/// <summary>Passive health with a fixed set of ejected endpoint indexes.</summary>
internal sealed class FakeHealth(params int[] ejected) : IEndpointHealth
{
    private readonly HashSet<int> _ejected = [.. ejected];

    public int EjectedCount => _ejected.Count;

    public bool IsEjected(int endpointIndex) => _ejected.Contains(endpointIndex);
}

/// <summary>In-flight counts by endpoint index.</summary>
internal sealed class FakeLoad(params int[] outstanding) : IEndpointLoad
{
    public int[] Outstanding { get; } = outstanding;

    public int GetOutstandingRequests(int endpointIndex) => Outstanding[endpointIndex];
}
