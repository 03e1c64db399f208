using static ControlPlane.LoadBalancing.Tests.TestEndpoints;

namespace ControlPlane.LoadBalancing.Tests;

/// <summary>The rules every algorithm shares: draining endpoints, passive-health ejections, the panic threshold.</summary>
public sealed class EligibilityTests
{
    public static TheoryData<string> Algorithms => [.. LoadBalancingAlgorithms.All];

    private static ILoadBalancer Balancer(string algorithm, Api.V1.EndpointSet set, int panic = 50) =>
        LoadBalancingPolicies.Default.Build(set, Policy(algorithm, "customer_id"), Fixed with { Random = new Random(5), PanicThresholdPercent = panic });

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Draining_IsNotPicked_WhileAHealthyEndpointExists(string algorithm)
    {
        var balancer = Balancer(algorithm, Set("a", "b:draining", "c"));
        Assert.DoesNotContain("b", Picks(balancer, 300));

        var explanation = balancer.Explain(default);
        Assert.Equal([true, false, true], explanation.Candidates.Select(c => c.Eligible));
        Assert.Equal(ExcludedReasons.Draining, explanation.Candidates[1].ExcludedReason);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Draining_GetsNoRequestWithAStickyValue_WhileAHealthyEndpointExists(string algorithm)
    {
        // Draining is "no new traffic" for every algorithm; consistent_hash hashes these values.
        var balancer = Balancer(algorithm, Set("a", "b:draining", "c"));
        var picks = Enumerable.Range(0, 300).Select(k => balancer.Pick(new PickContext($"customer-{k}"))!.InstanceId).ToArray();
        Assert.DoesNotContain("b", picks);
        Assert.Equal(["a", "c"], picks.Distinct().Order());
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void DrainingOnly_IsPicked_WhenNoEndpointIsHealthy(string algorithm)
    {
        var balancer = Balancer(algorithm, Set("a:draining", "b:draining"));
        Assert.Equal(["a", "b"], Picks(balancer, 200).Distinct().Order());

        var explanation = balancer.Explain(default);
        Assert.All(explanation.Candidates, c => Assert.True(c.Eligible));
        Assert.Contains("no healthy endpoint, so draining endpoints are used", explanation.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Ejected_IsNotPicked(string algorithm)
    {
        var balancer = Balancer(algorithm, Set("a", "b", "c", "d"));
        var health = new FakeHealth(1);
        Assert.DoesNotContain("b", Picks(balancer, 300, health));
        Assert.Equal(3, Picks(balancer, 300, health).Distinct().Count());

        var explanation = balancer.Explain(new PickContext(default, null, health));
        Assert.False(explanation.Panic);
        Assert.Equal(ExcludedReasons.Ejected, explanation.Candidates[1].ExcludedReason);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void BelowThePanicThreshold_EjectionsAreIgnored(string algorithm)
    {
        // 1 of 4 left (25% < 50%): all four take traffic again.
        var balancer = Balancer(algorithm, Set("a", "b", "c", "d"));
        var health = new FakeHealth(0, 1, 2);
        Assert.Equal(["a", "b", "c", "d"], Picks(balancer, 400, health).Distinct().Order());

        var explanation = balancer.Explain(new PickContext(default, null, health));
        Assert.True(explanation.Panic);
        Assert.Contains("panic", explanation.Reason, StringComparison.Ordinal);
        Assert.All(explanation.Candidates, c => Assert.True(c.Eligible));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void AtThePanicThreshold_EjectionsStillApply(string algorithm)
    {
        var balancer = Balancer(algorithm, Set("a", "b", "c", "d"));
        Assert.Equal(["c", "d"], Picks(balancer, 300, new FakeHealth(0, 1)).Distinct().Order());
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void PanicDisabled_AllEjected_PicksNothing(string algorithm)
    {
        var balancer = Balancer(algorithm, Set("a", "b"), panic: 0);
        var health = new FakeHealth(0, 1);
        Assert.Null(balancer.Pick(new PickContext(default, null, health)));
        Assert.Null(balancer.Pick(new PickContext("user-1", null, health)));
        Assert.Contains("every endpoint is ejected", balancer.Explain(new PickContext(default, null, health)).Reason, StringComparison.Ordinal);
        Assert.Equal(["b"], Picks(balancer, 20, new FakeHealth(0)).Distinct());
    }

    [Fact]
    public void EjectionsOfOtherEndpoints_AreNotCountedAgainstTheHealthyOnes()
    {
        // The draining endpoint's ejection does not push the healthy pair into panic.
        var balancer = Balancer(LoadBalancingAlgorithms.RoundRobin, Set("a", "b", "c:draining"));
        var health = new FakeHealth(0, 2);
        Assert.Equal(["b"], Picks(balancer, 10, health).Distinct());
    }
}
