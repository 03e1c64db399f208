using static ControlPlane.LoadBalancing.Tests.TestEndpoints;

namespace ControlPlane.LoadBalancing.Tests;

public sealed class LeastConnTests
{
    [Fact]
    public void NeverPicksTheMostLoaded_AndPrefersTheLeastLoaded()
    {
        var balancer = Build(LoadBalancingAlgorithms.LeastConn, Set("a", "b", "c", "d"));
        var counts = Counts(Picks(balancer, 6000, load: new FakeLoad(0, 1, 2, 3)));

        // Two distinct choices: d (most loaded) always loses; a wins every pair it is in (3 of 6 pairs).
        Assert.False(counts.ContainsKey("d"));
        Assert.InRange(counts["a"], 2700, 3300);
        Assert.InRange(counts["b"], 1700, 2300); // pairs {b,c}, {b,d}: 2 of 6
        Assert.InRange(counts["c"], 800, 1200);  // pair {c,d}: 1 of 6
    }

    [Fact]
    public void FollowsTheLoadAsItChanges()
    {
        var load = new FakeLoad(0, 0);
        var balancer = Build(LoadBalancingAlgorithms.LeastConn, Set("a", "b"));
        // With two endpoints both are always drawn: the less loaded one is picked, every time.
        for (var i = 0; i < 100; i++)
        {
            var picked = balancer.Pick(new PickContext(default, load))!;
            load.Outstanding[picked.Index]++;
        }
        Assert.Equal(50, load.Outstanding[0]);
        Assert.Equal(50, load.Outstanding[1]);
    }

    [Fact]
    public void WithoutLoad_SpreadsAtRandom_ReproduciblyFromTheSeed()
    {
        var first = Picks(Build(LoadBalancingAlgorithms.LeastConn, Many(5)), 1000);
        var again = Picks(Build(LoadBalancingAlgorithms.LeastConn, Many(5)), 1000);
        Assert.Equal(first, again);
        Assert.All(Counts(first).Values, c => Assert.InRange(c, 120, 280));
    }

    [Fact]
    public void SingleEndpoint_IsAlwaysPicked()
    {
        var balancer = Build(LoadBalancingAlgorithms.LeastConn, Set("a"));
        Assert.All(Picks(balancer, 10, load: new FakeLoad(5)), p => Assert.Equal("a", p));
        Assert.Equal("least_conn: a is the only endpoint to choose from", balancer.Explain(default).Reason);
    }

    [Fact]
    public void Explain_NamesBothChoicesAndTheirLoads()
    {
        var balancer = Build(LoadBalancingAlgorithms.LeastConn, Set("a", "b"));
        var explanation = balancer.Explain(new PickContext(default, new FakeLoad(4, 1)));
        Assert.Equal("b", explanation.Endpoint!.InstanceId);
        Assert.Equal("least_conn: b (1 outstanding) over a (4 outstanding), power of two random choices", explanation.Reason);
    }
}
