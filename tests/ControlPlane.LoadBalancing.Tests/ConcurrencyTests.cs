using static ControlPlane.LoadBalancing.Tests.TestEndpoints;

namespace ControlPlane.LoadBalancing.Tests;

/// <summary>Picks from many threads at once lose no turn and take no lock-free shortcut that skews the distribution; picks allocate nothing.</summary>
public sealed class ConcurrencyTests
{
    private const int Threads = 8;
    private const int PicksPerThread = 7 * 3 * 1000;

    private static Dictionary<string, int> PickConcurrently(ILoadBalancer balancer)
    {
        var counts = new int[balancer.Endpoints.Count];
        using var start = new Barrier(Threads);
        var workers = Enumerable.Range(0, Threads).Select(_ => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait(TaskTimeoutExtensions.Timeout);
            for (var i = 0; i < PicksPerThread; i++)
            {
                Interlocked.Increment(ref counts[balancer.Pick(new PickContext("k" + (i % 97)))!.Index]);
            }
        }, TestContext.Current.CancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();
        Task.WaitAll(workers, TaskTimeoutExtensions.Timeout);
        return balancer.Endpoints.ToDictionary(e => e.InstanceId, e => counts[e.Index]);
    }

    [Fact]
    public void RoundRobin_EveryEndpointGetsExactlyItsTurns()
    {
        var counts = PickConcurrently(Build(LoadBalancingAlgorithms.RoundRobin, Set("a", "b", "c")));
        Assert.All(counts.Values, c => Assert.Equal(Threads * PicksPerThread / 3, c));
    }

    [Theory]
    [InlineData(16_384)]
    [InlineData(0)]
    public void WeightedRoundRobin_ExactProportions_PrecomputedAndLocked(int maxSchedule)
    {
        var policy = Policy(LoadBalancingAlgorithms.WeightedRoundRobin, "", ("a", 5), ("b", 1), ("c", 1));
        var counts = PickConcurrently(Build(LoadBalancingAlgorithms.WeightedRoundRobin, Set("a", "b", "c"), Fixed with { MaxScheduleLength = maxSchedule }, policy));
        const int cycles = Threads * PicksPerThread / 7;
        Assert.Equal(5 * cycles, counts["a"]);
        Assert.Equal(cycles, counts["b"]);
        Assert.Equal(cycles, counts["c"]);
    }

    [Fact]
    public void LeastConn_And_ConsistentHash_AreSafeUnderConcurrency()
    {
        var p2c = PickConcurrently(Build(LoadBalancingAlgorithms.LeastConn, Many(4)));
        Assert.Equal(Threads * PicksPerThread, p2c.Values.Sum());
        Assert.All(p2c.Values, c => Assert.InRange(c, Threads * PicksPerThread / 4 * 9 / 10, Threads * PicksPerThread / 4 * 11 / 10));

        var ring = Build(LoadBalancingAlgorithms.ConsistentHash, Many(4), policy: Policy(LoadBalancingAlgorithms.ConsistentHash, "k"));
        var expected = Counts(Enumerable.Range(0, PicksPerThread).Select(i => ring.Pick(new PickContext("k" + (i % 97)))!.InstanceId));
        var concurrent = PickConcurrently(ring);
        Assert.All(expected, e => Assert.Equal(e.Value * Threads, concurrent[e.Key]));
    }

    [Theory]
    [InlineData(LoadBalancingAlgorithms.RoundRobin, 16_384)]
    [InlineData(LoadBalancingAlgorithms.LeastConn, 16_384)]
    [InlineData(LoadBalancingAlgorithms.WeightedRoundRobin, 16_384)]
    [InlineData(LoadBalancingAlgorithms.WeightedRoundRobin, 0)]
    [InlineData(LoadBalancingAlgorithms.ConsistentHash, 16_384)]
    public void Picks_AllocateNothing(string algorithm, int maxSchedule)
    {
        var policy = Policy(algorithm, "customer_id", ("e000", 3), ("e001", 2));
        var balancer = LoadBalancingPolicies.Default.Build(Many(8), policy, new BalancerOptions { MaxScheduleLength = maxSchedule });
        var load = new FakeLoad(3, 1, 4, 1, 5, 9, 2, 6);
        var health = new FakeHealth(2);
        var sticky = "customer-12345";

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
            balancer.Pick(new PickContext(sticky, load, null));
            balancer.Pick(new PickContext(default, load, health));
            balancer.Pick(new PickContext(sticky.AsSpan(9), null, health));
        }
    }

    [Fact]
    public void StickyLookup_OverAStructSource_AllocatesNothing_WhenItFindsAHeaderOrNothing()
    {
        var byHeader = new StructSource("user-7", "a=1; b=2", "?x=1&y=2");
        var nowhere = new StructSource(null, "a=1; b=2", "?x=1&y=2");
        for (var i = 0; i < 100; i++)
        {
            StickyValue.Find("customer_id", byHeader);
            StickyValue.Find("customer_id", nowhere);
        }
        var before = GC.GetAllocatedBytesForCurrentThread();
        StickyValue found = default, missed = default;
        for (var i = 0; i < 1000; i++)
        {
            found = StickyValue.Find("customer_id", byHeader);
            missed = StickyValue.Find("customer_id", nowhere);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(new StickyValue("user-7", StickyValueSource.Header), found);
        Assert.Equal(StickyValue.None, missed);
    }

    private readonly struct StructSource(string? header, string cookies, string query) : IStickySource
    {
        public string? GetHeader(string name) => header;

        public int CookieHeaderCount => 1;

        public string? GetCookieHeader(int index) => cookies;

        public string? QueryString => query;
    }
}
