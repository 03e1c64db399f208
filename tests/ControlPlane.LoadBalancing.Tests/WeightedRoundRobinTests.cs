using static ControlPlane.LoadBalancing.Tests.TestEndpoints;

namespace ControlPlane.LoadBalancing.Tests;

public sealed class WeightedRoundRobinTests
{
    private static readonly BalancerOptions Locked = Fixed with { MaxScheduleLength = 0 };

    public static TheoryData<bool> BothForms => new() { true, false };

    private static BalancerOptions Form(bool precomputed) => precomputed ? Fixed : Locked;

    [Theory]
    [MemberData(nameof(BothForms))]
    public void Weights_5_1_1_GiveNginxsSmoothSequence(bool precomputed)
    {
        var policy = Policy(LoadBalancingAlgorithms.WeightedRoundRobin, "", ("a", 5), ("b", 1), ("c", 1));
        var balancer = Build(LoadBalancingAlgorithms.WeightedRoundRobin, Set("a", "b", "c"), Form(precomputed), policy);

        string[] cycle = ["a", "a", "b", "a", "c", "a", "a"];
        Assert.Equal([.. cycle, .. cycle, .. cycle], Picks(balancer, 21));
    }

    [Theory]
    [MemberData(nameof(BothForms))]
    public void ScaledWeights_GiveTheSameSequence(bool precomputed)
    {
        var policy = Policy(LoadBalancingAlgorithms.WeightedRoundRobin, "", ("a", 500), ("b", 100), ("c", 100));
        var balancer = Build(LoadBalancingAlgorithms.WeightedRoundRobin, Set("a", "b", "c"), Form(precomputed), policy);
        Assert.Equal(["a", "a", "b", "a", "c", "a", "a"], Picks(balancer, 7));
    }

    [Fact]
    public void LongCycles_RunLocked_AndMatchThePrecomputedForm()
    {
        var set = Set("a*7", "b*13", "c*1", "d*29", "e*2");
        var table = Picks(Build(LoadBalancingAlgorithms.WeightedRoundRobin, set, Fixed), 500);
        var locked = Picks(Build(LoadBalancingAlgorithms.WeightedRoundRobin, set, Locked), 500);
        Assert.Equal(table, locked);
    }

    [Fact]
    public void PolicyWeights_WinOverEndpointWeights_WhichApplyToInstancesNotNamed()
    {
        // a: policy 3 (metadata 1); b: metadata 2; c: policy names no weight, metadata 1.
        var policy = Policy(LoadBalancingAlgorithms.WeightedRoundRobin, "", ("a", 3), ("ghost", 50));
        var balancer = Build(LoadBalancingAlgorithms.WeightedRoundRobin, Set("a", "b*2", "c"), policy: policy);

        Assert.Equal([3, 2, 1], balancer.Endpoints.Select(e => e.Weight));
        var counts = Counts(Picks(balancer, 600));
        Assert.Equal(300, counts["a"]);
        Assert.Equal(200, counts["b"]);
        Assert.Equal(100, counts["c"]);
    }

    [Fact]
    public void OutOfRangeWeights_CountAsOne()
    {
        var policy = Policy(LoadBalancingAlgorithms.WeightedRoundRobin, "", ("a", 0), ("b", 10_001));
        var balancer = Build(LoadBalancingAlgorithms.WeightedRoundRobin, Set("a*0", "b", "c*-4"), policy: policy);
        Assert.Equal([1, 1, 1], balancer.Endpoints.Select(e => e.Weight));
    }

    [Fact]
    public void RandomizedStart_StaysOnTheCycle_WithExactProportionsOverACycle()
    {
        var policy = Policy(LoadBalancingAlgorithms.WeightedRoundRobin, "", ("a", 5), ("b", 1), ("c", 1));
        var balancer = LoadBalancingPolicies.Default.Build(Set("a", "b", "c"), policy, new BalancerOptions { Random = new Random(11) });
        var counts = Counts(Picks(balancer, 7 * 10));
        Assert.Equal(50, counts["a"]);
        Assert.Equal(10, counts["b"]);
        Assert.Equal(10, counts["c"]);
    }

    [Fact]
    public void Explain_GivesTheWeightOfTheTotal()
    {
        var policy = Policy(LoadBalancingAlgorithms.WeightedRoundRobin, "", ("i1", 2), ("i2", 1));
        var balancer = Build(LoadBalancingAlgorithms.WeightedRoundRobin, Set("i1", "i2"), policy: policy);
        Assert.Equal("weighted_rr: i1 weight 2 of 3", balancer.Explain(default).Reason);
    }

    [Fact]
    public void WhileEndpointsAreEjected_OthersGetTrafficInProportionToTheirWeights()
    {
        var policy = Policy(LoadBalancingAlgorithms.WeightedRoundRobin, "", ("a", 3), ("b", 1), ("c", 6));
        var balancer = Build(LoadBalancingAlgorithms.WeightedRoundRobin, Set("a", "b", "c"), policy: policy);
        var counts = Counts(Picks(balancer, 4000, new FakeHealth(2)));

        Assert.False(counts.ContainsKey("c"));
        Assert.InRange(counts["a"], 2800, 3200); // 3:1, within about 7 standard deviations
        Assert.Equal(4000, counts["a"] + counts["b"]);
    }
}
