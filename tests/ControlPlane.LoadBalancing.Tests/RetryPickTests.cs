using ControlPlane.Api.V1;
using static ControlPlane.LoadBalancing.Tests.TestEndpoints;

namespace ControlPlane.LoadBalancing.Tests;

/// <summary>
/// A retry's pick (<see cref="PickContext.Tried"/>): the endpoints a request already tried are not
/// ejections, so they never tip the pick into panic, and a retry never goes back to one of them
/// while an untried endpoint remains; for every algorithm.
/// </summary>
public sealed class RetryPickTests
{
    public static TheoryData<string> Algorithms => [.. LoadBalancingAlgorithms.All];

    private static ILoadBalancer Balancer(string algorithm, EndpointSet set, int panic = 50) =>
        LoadBalancingPolicies.Default.Build(set, Policy(algorithm, "customer_id"), Fixed with { Random = new Random(5), PanicThresholdPercent = panic });

    /// <summary>One request as the proxy serves it: pick, and on a dead endpoint retry elsewhere; the instance that answered, or "-" when the retries ran out of endpoints.</summary>
    private static string Serve(ILoadBalancer balancer, IEndpointHealth? health, string sticky, int maxRetries = 2, params string[] dead)
    {
        var tried = new List<int>();
        for (var attempt = 0; ; attempt++)
        {
            var picked = balancer.Pick(new PickContext(sticky, null, health, tried.ToArray()));
            if (picked is null || tried.Contains(picked.Index))
            {
                return "-";
            }
            if (!dead.Contains(picked.InstanceId) || attempt == maxRetries)
            {
                return picked.InstanceId;
            }
            tried.Add(picked.Index);
        }
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void TwoDeadOneLive_EveryRequestReachesTheLiveInstance(string algorithm)
    {
        // The audit's image: two instances on refused ports and one live, with or without one of the
        // dead ones ejected. Tried + ejected reaching half the pool must not send a retry back.
        var balancer = Balancer(algorithm, Set("dead1", "dead2", "live"));
        foreach (var health in new IEndpointHealth?[] { null, new FakeHealth(0), new FakeHealth(1) })
        {
            for (var request = 0; request < 30; request++)
            {
                Assert.Equal("live", Serve(balancer, health, $"customer-{request}", dead: ["dead1", "dead2"]));
                Assert.Equal("live", Serve(balancer, health, "", dead: ["dead1", "dead2"]));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void TriedEndpoints_AreNotEjections_SoARetryDoesNotPanic(string algorithm)
    {
        // 4 endpoints, b ejected, a tried: counted together they would be half, the panic threshold.
        var balancer = Balancer(algorithm, Set("a", "b", "c", "d"));
        var context = new PickContext("customer-7", null, new FakeHealth(1), [0]);

        var explanation = balancer.Explain(context);
        Assert.False(explanation.Panic);
        Assert.Equal([ExcludedReasons.Tried, ExcludedReasons.Ejected, null, null], explanation.Candidates.Select(c => c.ExcludedReason));
        Assert.Contains(explanation.Endpoint!.InstanceId, (string[])["c", "d"]);
        for (var k = 0; k < 200; k++)
        {
            Assert.Contains(balancer.Pick(new PickContext($"customer-{k}", null, new FakeHealth(1), [0]))!.InstanceId, (string[])["c", "d"]);
        }
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void EveryEndpointNotEjectedTried_TheRetryGoesToAnUntriedEjectedOne(string algorithm)
    {
        // a ejected (passive health may be wrong about it), b just failed this request: b is the
        // worse bet. With the panic threshold disabled ejected endpoints are never used.
        var health = new FakeHealth(0);
        var explanation = Balancer(algorithm, Set("a", "b")).Explain(new PickContext("customer-1", null, health, [1]));
        Assert.Equal("a", explanation.Endpoint!.InstanceId);
        Assert.True(explanation.Panic);
        Assert.Contains("this retry has tried every endpoint that is not ejected, so ejected ones are used", explanation.Reason, StringComparison.Ordinal);
        Assert.Equal([null, ExcludedReasons.Tried], explanation.Candidates.Select(c => c.ExcludedReason));

        Assert.Null(Balancer(algorithm, Set("a", "b"), panic: 0).Pick(new PickContext("customer-1", null, health, [1])));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void EveryEndpointTried_PicksNothing(string algorithm)
    {
        var balancer = Balancer(algorithm, Set("a", "b", "c:draining"));
        Assert.Null(balancer.Pick(new PickContext("", null, null, [1, 0])));
        Assert.Contains("no endpoint can be picked", balancer.Explain(new PickContext("", null, null, [0, 1])).Reason, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void ARetry_IsNeverHandedATriedEndpoint_WhileAnUntriedOneRemains(string algorithm)
    {
        // Every set of 1-5 endpoints, every ejected subset, every tried subset, panic on and off.
        foreach (var panic in new[] { 50, 0 })
        {
            for (var n = 1; n <= 5; n++)
            {
                var balancer = Balancer(algorithm, Many(n), panic);
                for (var ejectedMask = 0; ejectedMask < 1 << n; ejectedMask++)
                {
                    for (var triedMask = 1; triedMask < 1 << n; triedMask++)
                    {
                        var ejected = Members(n, ejectedMask);
                        var tried = Members(n, triedMask);
                        var expected = Allowed(n, ejected, tried, panic);
                        for (var k = 0; k < 12; k++)
                        {
                            var picked = balancer.Pick(new PickContext(k % 3 == 0 ? "" : $"customer-{k}", null, new FakeHealth(ejected), tried));
                            var where = $"n={n} ejected=[{string.Join(",", ejected)}] tried=[{string.Join(",", tried)}] panic={panic}";
                            if (expected.Count == 0)
                            {
                                Assert.True(picked is null, $"{where}: picked {picked}");
                            }
                            else
                            {
                                Assert.True(picked is not null && expected.Contains(picked.Index), $"{where}: picked {picked?.Index.ToString() ?? "none"}, allowed [{string.Join(",", expected)}]");
                            }
                        }
                    }
                }
            }
        }

        static int[] Members(int n, int mask) => [.. Enumerable.Range(0, n).Where(i => (mask & 1 << i) != 0)];

        // The rules: panic is judged on ejections alone and ignores them; otherwise the untried
        // endpoints not ejected, and when the request tried all of those, the untried ejected ones.
        static HashSet<int> Allowed(int n, int[] ejected, int[] tried, int panic)
        {
            var all = Enumerable.Range(0, n).ToArray();
            var notEjected = all.Except(ejected).ToArray();
            if (panic > 0 && notEjected.Length < Math.Ceiling(n * panic / 100.0))
            {
                return [.. all.Except(tried)];
            }
            var untried = notEjected.Except(tried).ToHashSet();
            return untried.Count > 0 || panic == 0 ? untried : [.. all.Except(tried)];
        }
    }

    [Fact]
    public void RoundRobin_ADeadInstancesRetries_TakeTheNextTurns_SoTheOthersStayEven()
    {
        // a refuses connections and is not ejected (yet): each of its turns is retried on the next
        // endpoint in the rotation, whose turn it takes, so b, c and d still answer a third each.
        var balancer = Build(LoadBalancingAlgorithms.RoundRobin, Set("a", "b", "c", "d"));
        var served = Enumerable.Range(0, 12).Select(_ => Serve(balancer, null, "", dead: "a")).ToArray();
        Assert.Equal(["b", "c", "d", "b", "c", "d", "b", "c", "d", "b", "c", "d"], served);
    }

    [Fact]
    public void ConsistentHash_ARetryWalksToTheNextDistinctEndpointOnTheRing()
    {
        // The next distinct endpoint clockwise owns the key on a ring without the tried ones.
        var set = Many(6);
        var ring = Balancer(LoadBalancingAlgorithms.ConsistentHash, set);
        for (var k = 0; k < 2000; k++)
        {
            var key = $"customer-{k}";
            var owner = ring.Pick(new PickContext(key))!;
            var second = ring.Pick(new PickContext(key, null, null, [owner.Index]))!;
            var third = ring.Pick(new PickContext(key, null, null, [owner.Index, second.Index]))!;

            Assert.Equal(Without(set, owner).Pick(new PickContext(key))!.InstanceId, second.InstanceId);
            Assert.Equal(Without(set, owner, second).Pick(new PickContext(key))!.InstanceId, third.InstanceId);
            Assert.Equal(3, new[] { owner.InstanceId, second.InstanceId, third.InstanceId }.Distinct().Count());
            // The same walk as past an ejected owner: the key's retries go where its traffic would.
            Assert.Equal(second.InstanceId, ring.Pick(new PickContext(key, null, new FakeHealth(owner.Index)))!.InstanceId);
        }

        ILoadBalancer Without(EndpointSet all, params BalancerEndpoint[] gone)
        {
            var rest = new EndpointSet { Image = all.Image };
            rest.Endpoints.AddRange(all.Endpoints.Where(e => !gone.Any(g => g.InstanceId == e.InstanceId)));
            return Balancer(LoadBalancingAlgorithms.ConsistentHash, rest);
        }
    }

    [Fact]
    public void LeastConn_ARetryChoosesByLoadAmongTheUntried()
    {
        // a tried; of b (5 outstanding) and c (1), c wins every time; with c tried too, b.
        var balancer = Build(LoadBalancingAlgorithms.LeastConn, Set("a", "b", "c"));
        var load = new FakeLoad(0, 5, 1);
        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal("c", balancer.Pick(new PickContext(default, load, null, [0]))!.InstanceId));
        Assert.All(Enumerable.Range(0, 100), _ => Assert.Equal("b", balancer.Pick(new PickContext(default, load, null, [0, 2]))!.InstanceId));
    }

    [Fact]
    public void WeightedRoundRobin_ARetryFollowsTheWeightsOfTheUntried_AndLeavesTheSequenceAlone()
    {
        var policy = Policy(LoadBalancingAlgorithms.WeightedRoundRobin, "", ("a", 5), ("b", 3), ("c", 1));
        var balancer = Build(LoadBalancingAlgorithms.WeightedRoundRobin, Set("a", "b", "c"), policy: policy);
        var first = Picks(balancer, 9);

        var retries = Counts(Enumerable.Range(0, 4000).Select(_ => balancer.Pick(new PickContext(default, null, null, [0]))!.InstanceId));
        Assert.False(retries.ContainsKey("a"));
        Assert.InRange(retries["b"], 2800, 3200); // 3:1, within about 7 standard deviations
        // Retries took no turn: the next 9 picks are the same smooth cycle again.
        Assert.Equal(first, Picks(balancer, 9));
    }

    [Theory]
    [InlineData(LoadBalancingAlgorithms.RoundRobin, 16_384)]
    [InlineData(LoadBalancingAlgorithms.LeastConn, 16_384)]
    [InlineData(LoadBalancingAlgorithms.WeightedRoundRobin, 16_384)]
    [InlineData(LoadBalancingAlgorithms.WeightedRoundRobin, 0)]
    [InlineData(LoadBalancingAlgorithms.ConsistentHash, 16_384)]
    public void RetryPicks_AllocateNothing(string algorithm, int maxSchedule)
    {
        var policy = Policy(algorithm, "customer_id", ("e000", 3), ("e001", 2));
        var balancer = LoadBalancingPolicies.Default.Build(Many(8), policy, new BalancerOptions { MaxScheduleLength = maxSchedule });
        var load = new FakeLoad(3, 1, 4, 1, 5, 9, 2, 6);
        var health = new FakeHealth(2, 6);
        int[] tried = [0, 5];

        for (var i = 0; i < 2000; i++)
        {
            Pick();
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            Pick();
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        void Pick()
        {
            Assert.NotNull(balancer.Pick(new PickContext("customer-12345", load, health, tried)));
            Assert.NotNull(balancer.Pick(new PickContext(default, load, null, tried.AsSpan(1))));
        }
    }
}
