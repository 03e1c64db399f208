using static ControlPlane.LoadBalancing.Tests.TestEndpoints;

namespace ControlPlane.LoadBalancing.Tests;

public sealed class ConsistentHashTests
{
    private const int Keys = 20_000;

    private static ILoadBalancer Ring(Api.V1.EndpointSet set, BalancerOptions? options = null) =>
        LoadBalancingPolicies.Default.Build(set, Policy(LoadBalancingAlgorithms.ConsistentHash, "customer_id"), options ?? new BalancerOptions());

    private static string[] Route(ILoadBalancer balancer, IEndpointHealth? health = null) =>
        Enumerable.Range(0, Keys).Select(k => balancer.Pick(new PickContext($"customer-{k}", null, health))!.InstanceId).ToArray();

    [Fact]
    public void SameValue_SameEndpoint_OnEveryBalancerBuiltFromTheSameSet()
    {
        // Nodes build their balancers independently, with different seeds: they must agree.
        var one = Route(Ring(Many(10), new BalancerOptions { Random = new Random(1) }));
        var other = Route(Ring(Many(10), new BalancerOptions { Random = new Random(2) }));
        Assert.Equal(one, other);
    }

    [Fact]
    public void TheHashIsStableAcrossProcesses()
    {
        // Pinned values: a change here would send every sticky user elsewhere after an upgrade.
        Assert.Equal(17280346270528514342UL, Internal.StableHash.Of(""));
        Assert.Equal(Internal.StableHash.Of("customer-42"), Internal.StableHash.Of("customer-42".AsSpan()));
        var ring = Ring(Set("i1", "i2", "i3"));
        Assert.Equal("i1,i2,i3,i3,i3,i1,i2,i3", string.Join(",", Enumerable.Range(0, 8).Select(k => ring.Pick(new PickContext($"user-{k}"))!.InstanceId)));
    }

    [Fact]
    public void KeysSpreadEvenly()
    {
        var counts = Counts(Route(Ring(Many(10))));
        Assert.Equal(10, counts.Count);
        // 160 points per endpoint: each share within about +-25% of the mean.
        Assert.All(counts.Values, c => Assert.InRange(c, Keys / 10 * 3 / 4, Keys / 10 * 5 / 4));
    }

    [Fact]
    public void AddingOneOfN_MovesAboutOneNthOfTheKeys_AllToTheNewEndpoint()
    {
        const int n = 10;
        var before = Route(Ring(Many(n)));
        var after = Route(Ring(Many(n + 1)));

        var moved = Enumerable.Range(0, Keys).Where(k => before[k] != after[k]).ToArray();
        Assert.All(moved, k => Assert.Equal($"e{n:D3}", after[k]));
        var share = moved.Length / (double)Keys;
        Assert.InRange(share, 0.5 / (n + 1), 1.5 / (n + 1));
    }

    [Fact]
    public void RemovingOneOfN_MovesOnlyItsKeys()
    {
        const int n = 10;
        var before = Route(Ring(Many(n)));
        var after = Route(Ring(Api.V1.EndpointSet.Parser.ParseFrom(WithoutThird(Many(n)))));

        var moved = Enumerable.Range(0, Keys).Where(k => before[k] != after[k]).ToArray();
        Assert.All(moved, k => Assert.Equal("e003", before[k]));
        Assert.Equal(before.Count(e => e == "e003"), moved.Length);
        Assert.InRange(moved.Length / (double)Keys, 0.5 / n, 1.5 / n);

        static byte[] WithoutThird(Api.V1.EndpointSet set)
        {
            set.Endpoints.RemoveAt(3);
            return Google.Protobuf.MessageExtensions.ToByteArray(set);
        }
    }

    [Fact]
    public void DrainingOneOfN_NoKeyMapsToIt_AndNoOtherKeyMoves()
    {
        const int n = 5;
        var healthy = Route(Ring(Many(n)));
        var set = Many(n);
        set.Endpoints[2].Status = EndpointStatus.Draining;
        var draining = Route(Ring(set));

        // Draining means no new traffic, sticky values included (registry.proto; Envoy's DRAINING).
        Assert.DoesNotContain("e002", draining);
        var others = Enumerable.Range(0, Keys).Where(k => healthy[k] != "e002").ToArray();
        Assert.NotEmpty(others);
        Assert.All(others, k => Assert.Equal(healthy[k], draining[k]));
        // Its keys go where they would go without it: the next endpoint clockwise on the ring.
        set.Endpoints.RemoveAt(2);
        Assert.Equal(Route(Ring(set)), draining);
    }

    [Fact]
    public void EveryEndpointDraining_KeysStillRouted_AsIfNoneWere()
    {
        var healthy = Route(Ring(Many(4)));
        var set = Many(4);
        foreach (var endpoint in set.Endpoints)
        {
            endpoint.Status = EndpointStatus.Draining;
        }
        var balancer = Ring(set);

        Assert.Equal(healthy, Route(balancer));
        Assert.Contains("no healthy endpoint, so draining endpoints are used", balancer.Explain(new PickContext("customer-1")).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void WithoutAStickyValue_RotatesOverHealthyEndpointsLikeRoundRobin()
    {
        var balancer = LoadBalancingPolicies.Default.Build(Set("a", "b:draining", "c"), Policy(LoadBalancingAlgorithms.ConsistentHash, "customer_id"), Fixed);
        Assert.Equal(["a", "c", "a", "c"], Picks(balancer, 4));
        var explanation = balancer.Explain(default);
        Assert.StartsWith("consistent_hash: no sticky value, so the request is rotated like round_robin; round_robin: a is next", explanation.Reason, StringComparison.Ordinal);
        Assert.Equal(ExcludedReasons.Draining, explanation.Candidates[1].ExcludedReason);
    }

    [Fact]
    public void AnEjectedOwner_PassesOnlyItsKeysToTheNextEndpoint()
    {
        var ring = Ring(Many(6));
        var before = Route(ring);
        var after = Route(ring, new FakeHealth(4));

        var moved = Enumerable.Range(0, Keys).Where(k => before[k] != after[k]).ToArray();
        Assert.NotEmpty(moved);
        Assert.All(moved, k => Assert.Equal("e004", before[k]));
        Assert.DoesNotContain("e004", after);
    }

    [Fact]
    public void Explain_NamesTheOwnerAndTheRing()
    {
        var healthy = Ring(Set("i1", "i2"));
        var onI2 = Enumerable.Range(0, 50).Select(k => $"k{k}").First(k => healthy.Pick(new PickContext(k))!.InstanceId == "i2");

        var explanation = healthy.Explain(new PickContext(onI2));
        Assert.Equal("i2", explanation.Endpoint!.InstanceId);
        Assert.Contains("owned by i2 on a ring of 320 points (160 per endpoint)", explanation.Reason, StringComparison.Ordinal);
        Assert.All(explanation.Candidates, c => Assert.True(c.Eligible));
    }

    [Fact]
    public void Explain_AKeyOfADrainingEndpoint_SaysItWalkedPastIt()
    {
        var healthy = Ring(Set("i1", "i2"));
        var onI2 = Enumerable.Range(0, 50).Select(k => $"k{k}").First(k => healthy.Pick(new PickContext(k))!.InstanceId == "i2");

        var explanation = Ring(Set("i1", "i2:draining")).Explain(new PickContext(onI2));
        Assert.Equal("i1", explanation.Endpoint!.InstanceId);
        Assert.Contains("owned by i1 on a ring of 320 points", explanation.Reason, StringComparison.Ordinal);
        Assert.Contains("points of draining endpoints (they take no new traffic)", explanation.Reason, StringComparison.Ordinal);
        Assert.Equal([true, false], explanation.Candidates.Select(c => c.Eligible));
        Assert.Equal(ExcludedReasons.Draining, explanation.Candidates[1].ExcludedReason);
    }

    [Fact]
    public void LargeSets_UseFewerPointsPerEndpoint_WithinTheRingBound()
    {
        var balancer = Ring(Many(100), new BalancerOptions { MaxRingSize = 1000 });
        var explanation = balancer.Explain(new PickContext("x"));
        Assert.Contains("ring of 1000 points (10 per endpoint)", explanation.Reason, StringComparison.Ordinal);
    }
}
