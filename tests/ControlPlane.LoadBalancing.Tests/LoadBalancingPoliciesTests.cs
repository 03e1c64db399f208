using ControlPlane.Api.V1;
using static ControlPlane.LoadBalancing.Tests.TestEndpoints;

namespace ControlPlane.LoadBalancing.Tests;

public sealed class LoadBalancingPoliciesTests
{
    [Fact]
    public void TheBuiltInPolicies_AreFoundByTheApisNames()
    {
        Assert.Equal(LoadBalancingAlgorithms.All.Order(), LoadBalancingPolicies.Default.Names.Order());
        foreach (var name in LoadBalancingAlgorithms.All)
        {
            Assert.True(LoadBalancingPolicies.Default.TryGet(name, out var policy));
            Assert.Equal(name, policy.Name);
            Assert.Equal(name, LoadBalancingPolicies.Default.Build(Set("a"), Policy(name, "k")).Algorithm);
        }
        Assert.False(LoadBalancingPolicies.Default.TryGet("random", out _));
    }

    [Fact]
    public void UnknownAlgorithm_IsRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => LoadBalancingPolicies.Default.Build(Set("a"), Policy("fastest")));
        Assert.Contains("fastest", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MorePolicies_CanBeAdded_ButNamesAreUnique()
    {
        var policies = new LoadBalancingPolicies([.. LoadBalancingPolicies.BuiltIn, new FirstPolicy()]);
        Assert.Equal("b", policies.Build(Set("b", "a"), Policy("first")).Pick(default)!.InstanceId);
        Assert.Throws<ArgumentException>(() => new LoadBalancingPolicies([new FirstPolicy(), new FirstPolicy()]));
    }

    [Fact]
    public void BalancerEndpoints_KeepTheSetsOrderAndIndexes()
    {
        var balancer = LoadBalancingPolicies.Default.Build(Set("a", "b:draining", "c*4"));
        Assert.Equal(["a", "b", "c"], balancer.Endpoints.Select(e => e.InstanceId));
        Assert.Equal([0, 1, 2], balancer.Endpoints.Select(e => e.Index));
        Assert.Equal([false, true, false], balancer.Endpoints.Select(e => e.IsDraining));
        Assert.Equal(4, balancer.Endpoints[2].Weight);
    }

    private sealed class FirstPolicy : ILoadBalancingPolicy
    {
        public string Name => "first";

        public ILoadBalancer Build(EndpointSet endpoints, RoutingPolicy? policy, BalancerOptions options) => new First(LoadBalancingPolicies.Default.Build(endpoints));

        private sealed class First(ILoadBalancer inner) : ILoadBalancer
        {
            public string Algorithm => "first";

            public IReadOnlyList<BalancerEndpoint> Endpoints => inner.Endpoints;

            public BalancerEndpoint? Pick(in PickContext context) => Endpoints.Count == 0 ? null : Endpoints[0];

            public PickExplanation Explain(in PickContext context) => new(Pick(context), "first: always the first", [], false);
        }
    }
}
