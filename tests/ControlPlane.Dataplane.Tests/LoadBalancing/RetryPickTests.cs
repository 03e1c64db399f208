using System.Net;
using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;
using ControlPlane.Dataplane.Tests.Forwarder;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Dataplane.Tests.LoadBalancing;

/// <summary>
/// Which instance retries and ejections send real requests to, end to end: a retry goes to an
/// instance the request has not tried while one exists, and the instances passive health leaves
/// share the traffic evenly (by weight for weighted_rr). The node's clock is the test's, so no
/// ejection ends during a test.
/// </summary>
public sealed class RetryPickTests
{
    public static TheoryData<string> Algorithms => [.. ControlPlane.LoadBalancing.LoadBalancingAlgorithms.All];

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task TwoRefusingInstancesAndOneLive_EveryGetIsAnsweredByTheLiveOne(string algorithm)
    {
        // The audit's image. With the default 5 failures one refusing instance is ejected midway
        // (at most half of 3: one), so picks see ejected + tried reach half the pool.
        await using var live = await TestBackend.StartAsync("live");
        await using var node = await StartAsync(new ManualTimeProvider());
        var set = new EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("dead1", ErrorAnswerTests.ClosedPort()));
        set.Endpoints.Add(DataplaneFixture.EndpointOf("dead2", ErrorAnswerTests.ClosedPort()));
        set.Endpoints.Add(DataplaneFixture.EndpointOf("live", live.Port));
        node.Config.Update(new ImageConfig("img", set, new RoutingPolicy { Algorithm = algorithm, StickyKey = "customer_id" }));
        using var client = node.CreateClient();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 30; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/g/img/x");
            request.Headers.Add("customer_id", "customer-" + i);
            using var response = await client.SendAsync(request).DefaultTimeout();
            statuses.Add(response.StatusCode);
        }

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.Equal(30, live.Requests.Count);
        var route = node.Config.Current.Images["img"];
        Assert.Equal(1, route.States.Count(route.Health.IsEjected));
    }

    [Fact]
    public async Task TheOnlyInstanceLeftIsEjected_ARetryStillReachesIt()
    {
        // "flaky" was ejected for a 500; "dead" refuses connections but cannot be ejected (half of
        // two are out already). Each GET fails on dead; its retry goes to flaky, which answers now,
        // rather than back to dead.
        await using var flaky = await TestBackend.StartAsync("flaky");
        flaky.FailWith = 500;
        await using var node = await StartAsync(new ManualTimeProvider(), "--Dataplane:PassiveHealth:ConsecutiveFailures=1");
        node.Route("img", flaky);
        using var client = node.CreateClient();
        using (var failed = await client.GetAsync("/g/img/x").DefaultTimeout())
        {
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        }
        flaky.FailWith = null;
        var set = new EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("dead", ErrorAnswerTests.ClosedPort()));
        set.Endpoints.Add(DataplaneFixture.EndpointOf("flaky", flaky.Port));
        node.Config.Update(new ImageConfig("img", set));
        var route = node.Config.Current.Images["img"];
        Assert.True(route.Health.IsEjected(route.States[1]));

        for (var i = 0; i < 10; i++)
        {
            using var response = await client.GetAsync("/g/img/x").DefaultTimeout();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("flaky", response.Headers.GetValues("X-Backend").Single());
        }
        Assert.False(route.Health.IsEjected(route.States[0]));
    }

    [Theory]
    [InlineData(1, new[] { 4, 0, 4, 4 })]
    [InlineData(2, new[] { 6, 0, 0, 6 })]
    public async Task RoundRobin_WithInstancesEjected_TheOthersShareEvenly(int ejected, int[] expected)
    {
        await using var set = await BackendSet.StartAsync(4);
        await using var node = await StartAsync(new ManualTimeProvider(), "--Dataplane:PassiveHealth:ConsecutiveFailures=1");
        node.Route("img", set.Backends);
        await EjectAsync(node, set, ejected);
        using var client = node.CreateClient();

        var counts = await CountAsync(client, 12);

        Assert.Equal(expected, set.Backends.Select(b => counts.GetValueOrDefault(b.Name)));
    }

    [Fact]
    public async Task WeightedRoundRobin_WithAnInstanceEjected_TheOthersShareByWeight()
    {
        await using var set = await BackendSet.StartAsync(4);
        await using var node = await StartAsync(new ManualTimeProvider(), "--Dataplane:PassiveHealth:ConsecutiveFailures=1");
        var policy = new RoutingPolicy { Image = "img", Algorithm = "weighted_rr" };
        policy.Weights["b0"] = 1;
        policy.Weights["b1"] = 3;
        policy.Weights["b2"] = 2;
        policy.Weights["b3"] = 1;
        node.Route("img", policy, set.Backends);
        await EjectAsync(node, set, 1);
        using var client = node.CreateClient();

        var counts = await CountAsync(client, 16);

        // b1's 3 out of 7 goes to the others by their weights 1:2:1, none to one neighbour.
        Assert.Equal([4, 0, 8, 4], set.Backends.Select(b => counts.GetValueOrDefault(b.Name)));
    }

    /// <summary>Makes b1 (and b2 when <paramref name="count"/> is 2) answer 503 until passive health ejects them.</summary>
    private static async Task EjectAsync(DataplaneFixture node, BackendSet set, int count)
    {
        var failing = set.Backends.Skip(1).Take(count).ToArray();
        foreach (var backend in failing)
        {
            backend.FailWith = 503;
        }
        var route = node.Config.Current.Images["img"];
        using var client = node.CreateClient();
        // Each rotation reaches every instance not ejected, so a few requests eject them all.
        for (var i = 0; i < 20 && route.States.Count(route.Health.IsEjected) < count; i++)
        {
            using var response = await client.GetAsync("/g/img/warm-up").DefaultTimeout();
        }
        Assert.Equal(failing.Select(b => b.Name), route.States.Where(route.Health.IsEjected).Select(s => s.InstanceId));
    }

    private static async Task<Dictionary<string, int>> CountAsync(HttpClient client, int requests)
    {
        var counts = new Dictionary<string, int>();
        for (var i = 0; i < requests; i++)
        {
            using var response = await client.GetAsync("/g/img/x").DefaultTimeout();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var name = response.Headers.GetValues("X-Backend").Single();
            counts[name] = counts.GetValueOrDefault(name) + 1;
        }
        return counts;
    }

    private static Task<DataplaneFixture> StartAsync(ManualTimeProvider clock, params string[] args) =>
        DataplaneFixture.StartAsync(builder => builder.Services.AddSingleton<TimeProvider>(clock), args);
}
