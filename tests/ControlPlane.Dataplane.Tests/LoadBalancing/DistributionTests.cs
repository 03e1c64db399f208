using System.Net;
using ControlPlane.Api.V1;
using ControlPlane.Dataplane.Configuration;

namespace ControlPlane.Dataplane.Tests.LoadBalancing;

/// <summary>Each algorithm, end to end: which instance real requests reach.</summary>
public sealed class DistributionTests
{
    [Fact]
    public async Task RoundRobin_SpreadsEvenly()
    {
        await using var set = await BackendSet.StartAsync(3);
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", set.Backends);
        using var client = node.CreateClient();

        var counts = await CountAsync(client, 30, "/g/img/x");

        Assert.Equal([10, 10, 10], set.Backends.Select(b => counts.GetValueOrDefault(b.Name)));
    }

    [Fact]
    public async Task WeightedRoundRobin_FollowsThePolicysWeights()
    {
        await using var set = await BackendSet.StartAsync(2);
        await using var node = await DataplaneFixture.StartAsync();
        var policy = new RoutingPolicy { Image = "img", Algorithm = "weighted_rr" };
        policy.Weights["b0"] = 2;
        policy.Weights["b1"] = 1;
        node.Route("img", policy, set.Backends);
        using var client = node.CreateClient();

        var counts = await CountAsync(client, 30, "/g/img/x");

        // Smooth WRR repeats b0 b1 b0 (a cycle of 3): any 30 consecutive picks are exactly 2:1.
        Assert.Equal(20, counts["b0"]);
        Assert.Equal(10, counts["b1"]);
    }

    [Fact]
    public async Task WeightedRoundRobin_FallsBackToEndpointWeights()
    {
        await using var set = await BackendSet.StartAsync(2);
        await using var node = await DataplaneFixture.StartAsync();
        var endpoints = new EndpointSet { Image = "img" };
        endpoints.Endpoints.Add(DataplaneFixture.EndpointOf("b0", set.Backends[0].Port, weight: 1));
        endpoints.Endpoints.Add(DataplaneFixture.EndpointOf("b1", set.Backends[1].Port, weight: 3));
        node.Config.Update(new ImageConfig("img", endpoints, new RoutingPolicy { Algorithm = "weighted_rr" }));
        using var client = node.CreateClient();

        var counts = await CountAsync(client, 40, "/g/img/x");

        Assert.Equal(10, counts["b0"]);
        Assert.Equal(30, counts["b1"]);
    }

    [Fact]
    public async Task ConsistentHash_KeepsEachStickyValueOnOneInstance_FromHeaderCookieOrQuery()
    {
        await using var set = await BackendSet.StartAsync(3);
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", new RoutingPolicy { Algorithm = "consistent_hash", StickyKey = "customer_id" }, set.Backends);
        using var client = node.CreateClient();

        var placed = new Dictionary<string, string>();
        for (var customer = 0; customer < 30; customer++)
        {
            var value = "customer-" + customer;
            var byHeader = await InstanceAsync(client, "/g/img/x", ("customer_id", value), cookie: null);
            var byCookie = await InstanceAsync(client, "/g/img/x", header: null, cookie: "customer_id=" + value);
            var byQuery = await InstanceAsync(client, "/g/img/x?customer_id=" + value, header: null, cookie: null);
            var again = await InstanceAsync(client, "/g/img/y", ("customer_id", value), cookie: null);
            Assert.Equal(byHeader, byCookie);
            Assert.Equal(byHeader, byQuery);
            Assert.Equal(byHeader, again);
            placed[value] = byHeader;
        }

        // 30 values over 3 instances: every instance holds some.
        Assert.Equal(3, placed.Values.Distinct().Count());
    }

    [Fact]
    public async Task ConsistentHash_CookieAndQuery_AreReadByTheSharedRules()
    {
        await using var set = await BackendSet.StartAsync(3);
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", new RoutingPolicy { Algorithm = "consistent_hash", StickyKey = "user" }, set.Backends);
        using var client = node.CreateClient();
        Task<string> OwnerAsync(string value) => InstanceAsync(client, "/g/img/x", ("user", value), cookie: null);
        async Task<string[]> InstancesAsync(string path, string? cookie) =>
            [.. (await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => InstanceAsync(client, path, header: null, cookie)))).Distinct().Order()];

        // Values whose owners differ, so that reading the wrong one shows.
        var alice = "alice";
        var bob = "bob";
        for (var i = 0; await OwnerAsync(bob) == await OwnerAsync(alice); i++)
        {
            bob = "bob-" + i;
        }
        var spaced = "a b";
        for (var i = 0; await OwnerAsync(spaced) == await OwnerAsync(spaced.Replace(' ', '+')); i++)
        {
            spaced = $"a{i} b";
        }

        // Cookie names are case-sensitive: "USER" is not sticky key "user", so the requests rotate.
        Assert.Equal(["b0", "b1", "b2"], await InstancesAsync("/g/img/x", "USER=" + alice));
        Assert.Equal([await OwnerAsync(alice)], await InstancesAsync("/g/img/x", $"user={alice}; USER={bob}"));
        // A cookie value is taken as sent, a space included; a query value is form-decoded ('+' is a space).
        Assert.Equal([await OwnerAsync(spaced)], await InstancesAsync("/g/img/x", "user=" + spaced));
        Assert.Equal([await OwnerAsync(spaced)], await InstancesAsync("/g/img/x?user=" + spaced.Replace(' ', '+'), cookie: null));
    }

    [Fact]
    public async Task ConsistentHash_WhenAnInstanceLeaves_OnlyItsKeysMove()
    {
        await using var set = await BackendSet.StartAsync(3);
        await using var node = await DataplaneFixture.StartAsync();
        var policy = new RoutingPolicy { Algorithm = "consistent_hash", StickyKey = "customer_id" };
        node.Route("img", policy, set.Backends);
        using var client = node.CreateClient();
        var before = new Dictionary<string, string>();
        for (var customer = 0; customer < 60; customer++)
        {
            before["c" + customer] = await InstanceAsync(client, "/g/img/x", ("customer_id", "c" + customer), null);
        }

        node.Route("img", policy, set.Backends[0], set.Backends[2]);
        var moved = 0;
        foreach (var (key, instance) in before)
        {
            var now = await InstanceAsync(client, "/g/img/x", ("customer_id", key), null);
            if (instance == "b1")
            {
                Assert.NotEqual("b1", now);
                moved++;
            }
            else
            {
                Assert.Equal(instance, now);
            }
        }
        Assert.True(moved > 0);
    }

    [Fact]
    public async Task LeastConn_AvoidsTheInstanceWithARequestInFlight()
    {
        await using var set = await BackendSet.StartAsync(2);
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", new RoutingPolicy { Algorithm = "least_conn" }, set.Backends);
        using var client = node.CreateClient();

        var held = client.GetAsync("/g/img/hold");
        var busy = await Task.WhenAny(set.Backends[0].Held.Task, set.Backends[1].Held.Task).DefaultTimeout();
        var busyName = busy == set.Backends[0].Held.Task ? "b0" : "b1";
        var counts = await CountAsync(client, 20, "/g/img/x");

        Assert.Equal(20, counts[busyName == "b0" ? "b1" : "b0"]);
        foreach (var backend in set.Backends)
        {
            backend.Release.TrySetResult();
        }
        using var heldResponse = await held.DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, heldResponse.StatusCode);
    }

    private static async Task<Dictionary<string, int>> CountAsync(HttpClient client, int requests, string path)
    {
        var counts = new Dictionary<string, int>();
        for (var i = 0; i < requests; i++)
        {
            using var response = await client.GetAsync(path).DefaultTimeout();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var name = response.Headers.GetValues("X-Backend").Single();
            counts[name] = counts.GetValueOrDefault(name) + 1;
        }
        return counts;
    }

    private static async Task<string> InstanceAsync(HttpClient client, string path, (string Name, string Value)? header, string? cookie)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (header is { } h)
        {
            request.Headers.TryAddWithoutValidation(h.Name, h.Value);
        }
        if (cookie is not null)
        {
            request.Headers.TryAddWithoutValidation("Cookie", cookie);
        }
        using var response = await client.SendAsync(request).DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response.Headers.GetValues("X-Backend").Single();
    }
}

/// <summary>Backends b0, b1, ... started together and stopped together.</summary>
internal sealed class BackendSet : IAsyncDisposable
{
    private BackendSet(TestBackend[] backends) => Backends = backends;

    public TestBackend[] Backends { get; }

    public static async Task<BackendSet> StartAsync(int count, bool http2 = false) =>
        new(await Task.WhenAll(Enumerable.Range(0, count).Select(i => TestBackend.StartAsync("b" + i, http2))));

    public async ValueTask DisposeAsync()
    {
        foreach (var backend in Backends)
        {
            await backend.DisposeAsync();
        }
    }
}
