using static ControlPlane.LoadBalancing.Tests.TestEndpoints;

namespace ControlPlane.LoadBalancing.Tests;

public sealed class RoundRobinTests
{
    [Fact]
    public void EachEndpointInTurn_InEndpointSetOrder()
    {
        var balancer = Build(LoadBalancingAlgorithms.RoundRobin, Set("a", "b", "c"));
        Assert.Equal(["a", "b", "c", "a", "b", "c", "a"], Picks(balancer, 7));
    }

    [Fact]
    public void RandomizedStart_IsARotationOfTheSameOrder_AndReproducibleFromTheSeed()
    {
        var options = new BalancerOptions { Random = new Random(7) };
        var first = Picks(LoadBalancingPolicies.Default.Build(Set("a", "b", "c", "d"), null, options with { Random = new Random(7) }), 8);
        var again = Picks(LoadBalancingPolicies.Default.Build(Set("a", "b", "c", "d"), null, options with { Random = new Random(7) }), 8);

        Assert.Equal(first, again);
        var start = Array.IndexOf(["a", "b", "c", "d"], first[0]);
        Assert.Equal(Enumerable.Range(0, 8).Select(i => "abcd"[(start + i) % 4].ToString()), first);
    }

    [Fact]
    public void RandomizedStarts_SpreadNodesThatReceiveTheSameConfig()
    {
        // Many nodes building the same balancer at once must not all hit the same first endpoint.
        var seeds = new Random(3);
        var firsts = Enumerable.Range(0, 200)
            .Select(_ => LoadBalancingPolicies.Default.Build(Many(4), null, new BalancerOptions { Random = new Random(seeds.Next()) }).Pick(default)!.InstanceId)
            .ToHashSet();
        Assert.Equal(4, firsts.Count);
    }

    [Fact]
    public void NoPolicy_MeansRoundRobin()
    {
        var balancer = LoadBalancingPolicies.Default.Build(Set("a", "b"), null, Fixed);
        Assert.Equal(LoadBalancingAlgorithms.RoundRobin, balancer.Algorithm);
        Assert.Equal(["a", "b", "a"], Picks(balancer, 3));
    }

    [Fact]
    public void EmptySet_PicksNothing()
    {
        foreach (var algorithm in LoadBalancingAlgorithms.All)
        {
            var balancer = Build(algorithm, Set(), policy: Policy(algorithm, "k"));
            Assert.Null(balancer.Pick(default));
            Assert.Null(balancer.Pick(new PickContext("user-1")));
            var explanation = balancer.Explain(default);
            Assert.Null(explanation.Endpoint);
            Assert.Empty(explanation.Candidates);
        }
    }

    [Fact]
    public void Explain_SaysWhereInTheRotation_AndAdvancesLikeAPick()
    {
        var balancer = Build(LoadBalancingAlgorithms.RoundRobin, Set("a", "b", "c"));
        var explanation = balancer.Explain(default);

        Assert.Equal("a", explanation.Endpoint!.InstanceId);
        Assert.Equal("round_robin: a is next in rotation (position 1 of 3)", explanation.Reason);
        Assert.All(explanation.Candidates, c => Assert.True(c.Eligible));
        Assert.Equal("b", balancer.Pick(default)!.InstanceId);
    }
}
