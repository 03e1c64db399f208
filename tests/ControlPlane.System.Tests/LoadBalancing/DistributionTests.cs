using System.Net;
using ControlPlane.System.Tests.Infrastructure;

namespace ControlPlane.System.Tests.LoadBalancing;

/// <summary>
/// Each algorithm as a client sees it through two real nodes in front of three real instances, each
/// image's policy set over REST with the admin token and pushed to both nodes.
/// </summary>
[Collection(SystemCollection.Name)]
public sealed class DistributionTests(Platform platform)
{
    [Fact]
    public Task RoundRobin_SpreadsRequestsEvenly() => Scenario.RunAsync(() => platform.Processes, async () =>
    {
        await using var _ = await platform.RegisterAsync("img.rr", "rr");

        foreach (var node in platform.Nodes)
        {
            var counts = await CountAsync(node, "img.rr", 300);
            // Sequential requests, no failures: any 300 consecutive picks are exactly 100 per instance.
            Assert.All(platform.Backends, b => Assert.Equal(100, counts.GetValueOrDefault(b.InstanceId)));
        }
    });

    [Fact]
    public Task WeightedRoundRobin_FollowsThePolicysWeights() => Scenario.RunAsync(() => platform.Processes, async () =>
    {
        await using var ids = await platform.RegisterAsync("img.wrr", "wrr");
        await platform.ControlPlane.ChangeAsync("RoutingPolicy", platform.NodeIds, () => platform.ControlPlane.SetPolicyAsync(
            "img.wrr", "weighted_rr", new Dictionary<string, int> { [ids[0]] = 2, [ids[1]] = 1, [ids[2]] = 1 }));

        foreach (var node in platform.Nodes)
        {
            var counts = await CountAsync(node, "img.wrr", 400);
            // Tolerance: 5 % of the requests around the weights' shares (2:1:1 = 200:100:100).
            Assert.InRange(counts.GetValueOrDefault("b1"), 180, 220);
            Assert.InRange(counts.GetValueOrDefault("b2"), 80, 120);
            Assert.InRange(counts.GetValueOrDefault("b3"), 80, 120);
            Assert.InRange((double)counts["b1"] / counts["b2"], 1.8, 2.2);
        }
    });

    [Fact]
    public Task LeastConn_SendsLittleToASlowInstance() => Scenario.RunAsync(() => platform.Processes, async () =>
    {
        await using var _ = await platform.RegisterAsync("img.lc", "lc");
        await platform.ControlPlane.ChangeAsync("RoutingPolicy", platform.NodeIds, () => platform.ControlPlane.SetPolicyAsync("img.lc", "least_conn"));
        var slow = platform.Backends[0];
        await slow.SetDelayAsync(TimeSpan.FromSeconds(1));
        try
        {
            foreach (var node in platform.Nodes)
            {
                // Six clients at once, busy until the last request: the slow instance holds its
                // requests, so it has more outstanding than the others whenever it is one of the two
                // candidates (P2C).
                var counts = await CountConcurrentlyAsync(node, "img.lc", workers: 6, requests: 300);
                var total = counts.Values.Sum();
                Assert.Equal(300, total);
                // round_robin would give it a third (100); least_conn a small share.
                Assert.InRange(counts.GetValueOrDefault(slow.InstanceId), 0, total / 10);
                Assert.All(platform.Backends.Skip(1), b => Assert.InRange(counts.GetValueOrDefault(b.InstanceId), total * 3 / 10, total));
            }
        }
        finally
        {
            await slow.SetDelayAsync(TimeSpan.Zero);
        }
    });

    [Fact]
    public Task ConsistentHash_KeysStayPut_AndOnlyARemovedInstancesKeysMove() => Scenario.RunAsync(() => platform.Processes, async () =>
    {
        await using var ids = await platform.RegisterAsync("img.ch", "ch");
        await platform.ControlPlane.ChangeAsync("RoutingPolicy", platform.NodeIds, () => platform.ControlPlane.SetPolicyAsync("img.ch", "consistent_hash", stickyKey: "user"));
        var keys = Enumerable.Range(0, 150).Select(i => $"user-{i}").ToArray();

        var before = await OwnersAsync(platform.Node1, keys);
        Assert.Equal(before, await OwnersAsync(platform.Node1, keys)); // sticky
        Assert.Equal(before, await OwnersAsync(platform.Node2, keys)); // and the same on every node
        Assert.All(platform.Backends, b => Assert.InRange(before.Values.Count(o => o == b.InstanceId), keys.Length / 10, keys.Length));

        await platform.ControlPlane.ChangeAsync("EndpointSet", platform.NodeIds, () => platform.ControlPlane.DeregisterAsync(ids[2]));

        foreach (var node in platform.Nodes)
        {
            var after = await OwnersAsync(node, keys);
            foreach (var key in keys)
            {
                if (before[key] == "b3")
                {
                    Assert.NotEqual("b3", after[key]); // moved: its instance is gone
                }
                else
                {
                    Assert.Equal(before[key], after[key]); // stayed: minimal remapping
                }
            }
        }
    });

    private static async Task<Dictionary<string, int>> CountAsync(DataplaneNode node, string image, int requests)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < requests; i++)
        {
            var answer = await node.GetAsync(image);
            Assert.Equal(HttpStatusCode.OK, answer.Status);
            counts[answer.Instance!] = counts.GetValueOrDefault(answer.Instance!) + 1;
        }
        return counts;
    }

    /// <summary><paramref name="workers"/> clients sending one request after another until <paramref name="requests"/> were sent in all.</summary>
    private static async Task<Dictionary<string, int>> CountConcurrentlyAsync(DataplaneNode node, string image, int workers, int requests)
    {
        var sent = 0;
        var answered = new global::System.Collections.Concurrent.ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, workers).Select(async _ =>
        {
            while (Interlocked.Increment(ref sent) <= requests)
            {
                var answer = await node.GetAsync(image);
                Assert.Equal(HttpStatusCode.OK, answer.Status);
                answered.Add(answer.Instance!);
            }
        }));
        return answered.GroupBy(i => i).ToDictionary(g => g.Key, g => g.Count());
    }

    private static async Task<Dictionary<string, string>> OwnersAsync(DataplaneNode node, string[] keys)
    {
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            var answer = await node.GetAsync("img.ch", "/cart", "user", key);
            Assert.Equal(HttpStatusCode.OK, answer.Status);
            owners[key] = answer.Instance!;
        }
        return owners;
    }
}
