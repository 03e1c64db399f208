using static ControlPlane.LoadBalancing.Tests.TestEndpoints;

namespace ControlPlane.LoadBalancing.Tests;

/// <summary>
/// While endpoints are ejected the others share their traffic evenly (by weight for weighted_rr),
/// exactly and deterministically: no neighbour of an ejected endpoint takes its whole share.
/// </summary>
public sealed class EjectionShareTests
{
    [Fact]
    public void RoundRobin_OneOfFourEjected_TheOtherThreeTakeTurns()
    {
        var balancer = Build(LoadBalancingAlgorithms.RoundRobin, Set("a", "b", "c", "d"));
        Assert.Equal(["a", "c", "d", "a", "c", "d", "a", "c", "d", "a", "c", "d"], Picks(balancer, 12, new FakeHealth(1)));
    }

    [Fact]
    public void RoundRobin_TwoOfFourEjected_TheOtherTwoShareEvenly()
    {
        var balancer = Build(LoadBalancingAlgorithms.RoundRobin, Set("a", "b", "c", "d"));
        var counts = Counts(Picks(balancer, 12, new FakeHealth(1, 2)));
        Assert.Equal(6, counts["a"]);
        Assert.Equal(6, counts["d"]);
    }

    [Theory]
    [InlineData(LoadBalancingAlgorithms.RoundRobin)]
    [InlineData(LoadBalancingAlgorithms.ConsistentHash)] // without a sticky value it rotates like round_robin
    public void AnyRotationStart_AnyTwelvePicks_SplitFourFourFour(string algorithm)
    {
        for (var seed = 0; seed < 20; seed++)
        {
            var balancer = LoadBalancingPolicies.Default.Build(Set("a", "b", "c", "d"), Policy(algorithm, "customer_id"), new BalancerOptions { Random = new Random(seed) });
            Picks(balancer, seed); // anywhere in the rotation
            var counts = Counts(Picks(balancer, 12, new FakeHealth(2)));
            Assert.Equal([4, 4, 4], new[] { "a", "b", "d" }.Select(id => counts.GetValueOrDefault(id)));
        }
    }

    [Fact]
    public void RoundRobin_WhenTheEjectionEnds_AllFourTakeTurnsAgain()
    {
        var balancer = Build(LoadBalancingAlgorithms.RoundRobin, Set("a", "b", "c", "d"));
        Picks(balancer, 7, new FakeHealth(0));
        Assert.All(Counts(Picks(balancer, 16)).Values, c => Assert.Equal(4, c));
    }

    [Fact]
    public void RoundRobin_Explain_CountsTheTurnsAmongTheEndpointsNotEjected()
    {
        var balancer = Build(LoadBalancingAlgorithms.RoundRobin, Set("a", "b", "c", "d"));
        var health = new FakeHealth(0);
        Assert.Equal("round_robin: b is next in rotation (position 1 of 3)", balancer.Explain(new PickContext(default, null, health)).Reason);
        Assert.Equal("round_robin: c is next in rotation (position 2 of 3)", balancer.Explain(new PickContext(default, null, health)).Reason);
    }

    public static TheoryData<bool> BothForms => new() { true, false };

    private static ILoadBalancer Weighted(bool precomputed, params (string Id, int Weight)[] weights) =>
        Build(LoadBalancingAlgorithms.WeightedRoundRobin, Set([.. weights.Select(w => w.Id)]),
            precomputed ? Fixed : Fixed with { MaxScheduleLength = 0 },
            Policy(LoadBalancingAlgorithms.WeightedRoundRobin, "", weights));

    [Theory]
    [MemberData(nameof(BothForms))]
    public void WeightedRoundRobin_OneEjected_TheOthersGetExactlyTheirWeightsShare_Smoothly(bool precomputed)
    {
        // a 4, b 1, c 2, d 1 with a ejected: b, c, d split 1:2:1, nginx's smooth order over them.
        var balancer = Weighted(precomputed, ("a", 4), ("b", 1), ("c", 2), ("d", 1));
        string[] cycle = ["c", "b", "d", "c"];
        Assert.Equal([.. cycle, .. cycle, .. cycle, .. cycle, .. cycle], Picks(balancer, 20, new FakeHealth(0)));
    }

    [Theory]
    [MemberData(nameof(BothForms))]
    public void WeightedRoundRobin_AnotherEndpointEjected_ItsSharesAreExactFromTheFirstPick(bool precomputed)
    {
        var balancer = Weighted(precomputed, ("a", 3), ("b", 1), ("c", 6));
        Picks(balancer, 5, new FakeHealth(2));

        var counts = Counts(Picks(balancer, 9 * 4, new FakeHealth(1)));
        Assert.Equal(12, counts["a"]);
        Assert.Equal(24, counts["c"]);
    }

    [Theory]
    [MemberData(nameof(BothForms))]
    public void WeightedRoundRobin_WhenTheEjectionEnds_TheFullCycleResumes(bool precomputed)
    {
        string[] cycle = ["a", "a", "b", "a", "c", "a", "a"];
        var balancer = Weighted(precomputed, ("a", 5), ("b", 1), ("c", 1));
        Assert.Equal(cycle[..3], Picks(balancer, 3));
        Assert.Equal(["b", "c", "b", "c"], Picks(balancer, 4, new FakeHealth(0)));

        // Where it left off, and exactly 5:1:1 again over whole cycles.
        var after = Picks(balancer, 7 * 3);
        Assert.Equal([.. cycle[3..], .. cycle[..3]], after[..7]);
        var counts = Counts(after);
        Assert.Equal([15, 3, 3], new[] { "a", "b", "c" }.Select(id => counts[id]));
    }

    [Fact]
    public void WeightedRoundRobin_Explain_GivesTheWeightOfTheEndpointsNotEjected()
    {
        var balancer = Weighted(true, ("a", 3), ("b", 1), ("c", 6));
        Assert.Equal("weighted_rr: a weight 3 of 4 (over the endpoints not ejected)", balancer.Explain(new PickContext(default, null, new FakeHealth(2))).Reason);
    }

    [Theory]
    [InlineData(LoadBalancingAlgorithms.RoundRobin, 16_384)]
    [InlineData(LoadBalancingAlgorithms.WeightedRoundRobin, 16_384)]
    [InlineData(LoadBalancingAlgorithms.WeightedRoundRobin, 0)]
    public async Task ManyThreadsPickingAtOnce_TheSharesStayExact(string algorithm, int maxSchedule)
    {
        const int threads = 8;
        const int picksPerThread = 3 * 5 * 1000;
        // weighted_rr: b 2, c 2, d 1 over the endpoints not ejected (a 9 ejected); round_robin: 1:1:1.
        var policy = Policy(algorithm, "", ("a", 9), ("b", 2), ("c", 2), ("d", 1));
        var balancer = Build(algorithm, Set("a", "b", "c", "d"), Fixed with { MaxScheduleLength = maxSchedule }, policy);
        var health = new FakeHealth(0);
        var counts = new int[4];
        using var start = new Barrier(threads);
        var workers = Enumerable.Range(0, threads).Select(_ => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait(TaskTimeoutExtensions.Timeout);
            for (var i = 0; i < picksPerThread; i++)
            {
                Interlocked.Increment(ref counts[balancer.Pick(new PickContext(default, null, health))!.Index]);
            }
        }, TestContext.Current.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        await Task.WhenAll(workers).DefaultTimeout();

        const int total = threads * picksPerThread;
        int[] expected = algorithm == LoadBalancingAlgorithms.RoundRobin ? [0, total / 3, total / 3, total / 3] : [0, total * 2 / 5, total * 2 / 5, total / 5];
        Assert.Equal(expected, counts);
    }
}
