using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Storage;
using static ControlPlane.Server.Tests.Policies.PolicyTestBed;

namespace ControlPlane.Server.Tests.Routing;

/// <summary>PreviewRoute per route.proto: each algorithm with its explanation, sticky lookup, simulation, eligibility, errors.</summary>
public sealed class RoutePreviewTests
{
    private static async Task<Policies.PolicyTestBed> ThreeInstancesAsync()
    {
        var bed = await StartAsync();
        await bed.RegisterAsync("i1");
        await bed.RegisterAsync("i2");
        await bed.RegisterAsync("i3", weight: 3);
        return bed;
    }

    [Fact]
    public async Task WithoutAPolicy_RoundRobin_FromTheFirstEndpoint_WithVersionsAndCandidates()
    {
        await using var bed = await ThreeInstancesAsync();
        var preview = await bed.PreviewAsync(Preview(simulate: 9));

        Assert.Equal("img.video.svc", preview.Image);
        Assert.Equal("round_robin", preview.Algorithm);
        Assert.Equal("i1", preview.Endpoint.InstanceId);
        Assert.Equal("10.0.0.1", preview.Endpoint.Host);
        Assert.Equal("round_robin: i1 is next in rotation (position 1 of 3)", preview.Reason);
        Assert.Equal("", preview.PolicyVersion);
        Assert.Equal("", preview.StickyKey);
        var pushed = EndpointSetBuilder.Build("img.video.svc", await bed.RegistryStore.ListAsync(new InstanceQuery(Image: "img.video.svc")));
        Assert.Equal(ResourceVersion.Of(pushed!), preview.EndpointsVersion);
        Assert.Equal(["i1", "i2", "i3"], preview.Candidates.Select(c => c.InstanceId));
        Assert.Equal([1, 1, 3], preview.Candidates.Select(c => c.Weight));
        Assert.All(preview.Candidates, c => Assert.True(c.Eligible));
        Assert.All(preview.Candidates, c => Assert.Equal("healthy", c.Status));
        Assert.Equal(new Dictionary<string, long> { ["i1"] = 3, ["i2"] = 3, ["i3"] = 3 }, preview.Distribution);
    }

    [Fact]
    public async Task Previews_HaveNoSideEffects_TheSameRequestGetsTheSameAnswer()
    {
        await using var bed = await ThreeInstancesAsync();
        var first = await bed.PreviewAsync(Preview(simulate: 2));
        var second = await bed.PreviewAsync(Preview(simulate: 2));
        Assert.Equal(first, second);
        Assert.Empty(bed.PolicySignals);
    }

    [Fact]
    public async Task SingleRequest_HasNoDistribution()
    {
        await using var bed = await ThreeInstancesAsync();
        Assert.Empty((await bed.PreviewAsync(Preview(simulate: 1))).Distribution);
        Assert.Empty((await bed.PreviewAsync(Preview())).Distribution);
    }

    [Fact]
    public async Task WeightedRr_SimulationFollowsTheWeights_PolicyFirstThenMetadata()
    {
        await using var bed = await ThreeInstancesAsync();
        var policy = await bed.SetAsync(Set("weighted_rr", weights: [("i1", 2), ("i2", 1)]));

        var preview = await bed.PreviewAsync(Preview(simulate: 600));

        Assert.Equal("weighted_rr", preview.Algorithm);
        Assert.Equal(policy.Policy.Version, preview.PolicyVersion);
        Assert.Equal([2, 1, 3], preview.Candidates.Select(c => c.Weight)); // i3: no policy weight, metadata weight 3
        Assert.Equal(new Dictionary<string, long> { ["i1"] = 200, ["i2"] = 100, ["i3"] = 300 }, preview.Distribution);
        Assert.Equal($"weighted_rr: {preview.Endpoint.InstanceId} weight {preview.Candidates.Single(c => c.InstanceId == preview.Endpoint.InstanceId).Weight} of 6", preview.Reason);
    }

    [Fact]
    public async Task WeightedRr_TheReferencesTwoToOne()
    {
        await using var bed = await StartAsync();
        await bed.RegisterAsync("i1");
        await bed.RegisterAsync("i2");
        await bed.SetAsync(Set("weighted_rr", weights: [("i1", 2), ("i2", 1)]));

        var preview = await bed.PreviewAsync(Preview(simulate: 3000));

        Assert.Equal("weighted_rr: i1 weight 2 of 3", preview.Reason);
        Assert.Equal(2000, preview.Distribution["i1"]);
        Assert.Equal(1000, preview.Distribution["i2"]);
    }

    [Fact]
    public async Task LeastConn_IdleEndpoints_SpreadAtRandom_AndTheReasonSaysSo()
    {
        await using var bed = await ThreeInstancesAsync();
        await bed.SetAsync(Set("least_conn"));

        var preview = await bed.PreviewAsync(Preview(simulate: 3000));

        Assert.Equal("least_conn", preview.Algorithm);
        Assert.Contains("power of two random choices; no load is known, so the first choice wins", preview.Reason, StringComparison.Ordinal);
        Assert.All(preview.Distribution.Values, c => Assert.InRange(c, 800, 1200));
        Assert.Equal(3000, preview.Distribution.Values.Sum());
    }

    [Fact]
    public async Task ConsistentHash_StickyLookup_HeaderThenCookieThenQuery()
    {
        await using var bed = await ThreeInstancesAsync();
        await bed.SetAsync(Set("consistent_hash", stickyKey: "customer_id"));

        PreviewRouteRequest Request(bool header, bool cookie, bool query, string stickyValue = "")
        {
            var request = Preview();
            request.StickyValue = stickyValue;
            if (header)
            {
                request.Headers["Customer_ID"] = "from-header"; // header names are case-insensitive
            }
            if (cookie)
            {
                request.Cookies["customer_id"] = "from-cookie";
            }
            if (query)
            {
                request.Query["customer_id"] = "from-query";
            }
            return request;
        }

        var byHeader = await bed.PreviewAsync(Request(true, true, true));
        Assert.Equal("from-header", byHeader.StickyValue);
        Assert.Equal("customer_id", byHeader.StickyKey);
        Assert.EndsWith("; sticky value from header 'customer_id'", byHeader.Reason, StringComparison.Ordinal);

        var byCookie = await bed.PreviewAsync(Request(false, true, true));
        Assert.Equal("from-cookie", byCookie.StickyValue);
        Assert.EndsWith("; sticky value from cookie 'customer_id'", byCookie.Reason, StringComparison.Ordinal);

        var byQuery = await bed.PreviewAsync(Request(false, false, true));
        Assert.Equal("from-query", byQuery.StickyValue);
        Assert.EndsWith("; sticky value from query 'customer_id'", byQuery.Reason, StringComparison.Ordinal);

        var given = await bed.PreviewAsync(Request(true, true, true, stickyValue: "from-cookie"));
        Assert.Equal("from-cookie", given.StickyValue);
        Assert.Equal(byCookie.Endpoint, given.Endpoint);
        Assert.EndsWith("; sticky value given in the request", given.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConsistentHash_CookiesAndQuery_AreReadAsANodeReadsThemOnTheWire()
    {
        await using var bed = await ThreeInstancesAsync();
        await bed.SetAsync(Set("consistent_hash", stickyKey: "user"));
        async Task<string> StickyAsync(Action<PreviewRouteRequest> fill)
        {
            var request = Preview();
            fill(request);
            return (await bed.PreviewAsync(request)).StickyValue;
        }

        Assert.Equal("", await StickyAsync(r => r.Cookies["USER"] = "alice")); // cookie names are case-sensitive
        Assert.Equal("alice", await StickyAsync(r => r.Headers["Cookie"] = "user=alice; USER=bob"));
        Assert.Equal("a b", await StickyAsync(r => r.Cookies["user"] = "a b"));
        Assert.Equal("%41", await StickyAsync(r => r.Cookies["user"] = "%41")); // cookie values are not decoded
        Assert.Equal("a b", await StickyAsync(r => r.Query["user"] = "a+b")); // query values are form-decoded
        Assert.Equal("", await StickyAsync(r => r.Query["User"] = "alice"));
    }

    [Fact]
    public async Task ConsistentHash_AStickyValue_StaysOnOneEndpoint_AndValuesSpread()
    {
        await using var bed = await ThreeInstancesAsync();
        await bed.SetAsync(Set("consistent_hash", stickyKey: "customer_id"));

        var sticky = Preview(simulate: 100);
        sticky.StickyValue = "customer-42";
        var preview = await bed.PreviewAsync(sticky);
        Assert.Equal(100, Assert.Single(preview.Distribution).Value);
        Assert.Contains($"owned by {preview.Endpoint.InstanceId} on a ring of 480 points", preview.Reason, StringComparison.Ordinal);

        var owners = new HashSet<string>();
        for (var i = 0; i < 50; i++)
        {
            var request = Preview();
            request.Query["customer_id"] = $"customer-{i}";
            owners.Add((await bed.PreviewAsync(request)).Endpoint.InstanceId);
        }
        Assert.Equal(3, owners.Count);
    }

    [Fact]
    public async Task ConsistentHash_WithoutAStickyValue_RotatesLikeRoundRobin_AndSaysWhy()
    {
        await using var bed = await ThreeInstancesAsync();
        await bed.SetAsync(Set("consistent_hash", stickyKey: "customer_id"));
        var request = Preview(simulate: 3);
        request.Headers["x-other"] = "1";

        var preview = await bed.PreviewAsync(request);

        Assert.Equal("consistent_hash", preview.Algorithm);
        Assert.Equal("", preview.StickyValue);
        Assert.StartsWith("consistent_hash: no sticky value, so the request is rotated like round_robin", preview.Reason, StringComparison.Ordinal);
        Assert.EndsWith("no header, cookie or query parameter 'customer_id' was given", preview.Reason, StringComparison.Ordinal);
        Assert.Equal(3, preview.Distribution.Count);
    }

    [Fact]
    public async Task StickyValues_AreIgnoredByOtherAlgorithms()
    {
        await using var bed = await ThreeInstancesAsync();
        await bed.SetAsync(Set("round_robin", stickyKey: "customer_id"));
        var request = Preview();
        request.StickyValue = "customer-42";
        var preview = await bed.PreviewAsync(request);
        Assert.Equal("", preview.StickyValue);
        Assert.Equal("customer_id", preview.StickyKey);
        Assert.Equal("i1", preview.Endpoint.InstanceId);
    }

    [Fact]
    public async Task Draining_IsNotChosen_WhileHealthyOnesExist()
    {
        await using var bed = await ThreeInstancesAsync();
        await bed.DrainAsync("i1");

        var preview = await bed.PreviewAsync(Preview(simulate: 10));

        Assert.Equal("i2", preview.Endpoint.InstanceId);
        var drained = preview.Candidates.Single(c => c.InstanceId == "i1");
        Assert.Equal("draining", drained.Status);
        Assert.False(drained.Eligible);
        Assert.Equal("draining", drained.ExcludedReason);
        Assert.False(preview.Distribution.ContainsKey("i1"));
    }

    [Fact]
    public async Task ConsistentHash_AValueOfADrainingInstance_GoesToAnotherOne_AndTheReasonSaysSo()
    {
        await using var bed = await ThreeInstancesAsync();
        await bed.SetAsync(Set("consistent_hash", stickyKey: "customer_id"));
        var owners = new Dictionary<string, string>();
        for (var k = 0; k < 60; k++)
        {
            var request = Preview();
            request.StickyValue = $"customer-{k}";
            owners[request.StickyValue] = (await bed.PreviewAsync(request)).Endpoint.InstanceId;
        }
        var ofI1 = owners.First(o => o.Value == "i1").Key;

        await bed.DrainAsync("i1");

        foreach (var (value, owner) in owners)
        {
            var request = Preview();
            request.StickyValue = value;
            var preview = await bed.PreviewAsync(request);
            Assert.NotEqual("i1", preview.Endpoint.InstanceId);
            if (owner != "i1")
            {
                Assert.Equal(owner, preview.Endpoint.InstanceId); // the other instances keep their values
            }
            else if (value == ofI1)
            {
                Assert.Contains("points of draining endpoints (they take no new traffic)", preview.Reason, StringComparison.Ordinal);
                Assert.Equal("draining", preview.Candidates.Single(c => c.InstanceId == "i1").ExcludedReason);
            }
        }
    }

    [Fact]
    public async Task DrainingOnly_TheyAreUsed_AndTheReasonSaysSo()
    {
        await using var bed = await StartAsync();
        await bed.RegisterAsync("i1");
        await bed.RegisterAsync("i2");
        await bed.DrainAsync("i1");
        await bed.DrainAsync("i2");
        await bed.SetAsync(Set("weighted_rr", weights: [("i1", 3)]));

        var preview = await bed.PreviewAsync(Preview(simulate: 4));

        Assert.All(preview.Candidates, c => Assert.True(c.Eligible));
        Assert.Contains("no healthy endpoint, so draining endpoints are used", preview.Reason, StringComparison.Ordinal);
        Assert.Equal(3, preview.Distribution["i1"]);
        Assert.Equal(1, preview.Distribution["i2"]);
    }

    [Fact]
    public async Task NameFilter_NarrowsTheCandidates_NotTheVersion()
    {
        await using var bed = await ThreeInstancesAsync();
        await bed.RegisterAsync("j1", name: "other-svc");
        var whole = await bed.PreviewAsync(Preview());
        var request = Preview(simulate: 4);
        request.Service.Name = "other-svc";

        var preview = await bed.PreviewAsync(request);

        Assert.Equal(["j1"], preview.Candidates.Select(c => c.InstanceId));
        Assert.Equal(4, preview.Distribution["j1"]);
        Assert.Equal(whole.EndpointsVersion, preview.EndpointsVersion);
        Assert.Equal(4, whole.Candidates.Count);
    }

    [Fact]
    public async Task NameFilter_TheReasonSaysNodesDoNotFilter_AndWhereTheyWouldSendTheStickyValue()
    {
        await using var bed = await ThreeInstancesAsync();
        await bed.RegisterAsync("j1", name: "other-svc");
        await bed.SetAsync(Set("consistent_hash", stickyKey: "customer_id"));
        PreviewRouteRequest Request(string value, string name = "")
        {
            var request = Preview();
            request.StickyValue = value;
            request.Service.Name = name;
            return request;
        }
        // A value a node sends to an instance of video-svc, and one it sends to j1.
        var values = Enumerable.Range(0, 60).Select(k => $"customer-{k}").ToArray();
        var owners = new Dictionary<string, string>();
        foreach (var value in values)
        {
            owners[value] = (await bed.PreviewAsync(Request(value))).Endpoint.InstanceId;
        }
        var elsewhere = values.First(v => owners[v] != "j1");
        var same = values.First(v => owners[v] == "j1");

        var filtered = await bed.PreviewAsync(Request(elsewhere, "other-svc"));
        Assert.Equal("j1", filtered.Endpoint.InstanceId);
        Assert.EndsWith($"; only service 'other-svc' was considered (1 of the 4 endpoints of image 'img.video.svc'), but nodes do not filter by service: "
            + $"they route over all 4, and would send this sticky value to {owners[elsewhere]} (service 'video-svc')", filtered.Reason, StringComparison.Ordinal);
        Assert.EndsWith("and would send this sticky value to the same instance", (await bed.PreviewAsync(Request(same, "other-svc"))).Reason, StringComparison.Ordinal);

        // Without a name, or when the name covers every endpoint of the image, there is nothing to say.
        Assert.DoesNotContain("nodes do not filter", (await bed.PreviewAsync(Request(elsewhere))).Reason, StringComparison.Ordinal);
        await using var single = await ThreeInstancesAsync();
        var all = Preview();
        all.Service.Name = "video-svc";
        Assert.DoesNotContain("nodes do not filter", (await single.PreviewAsync(all)).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownImage_Or_Service_IsNotFound()
    {
        await using var bed = await ThreeInstancesAsync();
        var error = await FailsAsync(() => bed.PreviewAsync(Preview("img.none")));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("not_found", error.Status.Reason());

        var request = Preview();
        request.Service.Name = "nobody";
        Assert.Equal(StatusCode.NotFound, (await FailsAsync(() => bed.PreviewAsync(request))).StatusCode);
    }

    [Fact]
    public async Task InstancesButNoneLive_IsUnavailable()
    {
        await using var bed = await StartAsync();
        await bed.RegisterAsync("i1", ttl: 5);
        bed.Clock.Advance(6);

        var error = await FailsAsync(() => bed.PreviewAsync(Preview()));

        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Equal("no_routable_endpoint", error.Status.Reason());
        Assert.Contains("expired", error.Status.Detail, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> InvalidRequests => new()
    {
        { """{}""", "service" },
        { """{"service":{}}""", "service.image" },
        { """{"service":{"image":"img video"}}""", "service.image" },
        { """{"service":{"image":"img.a","name":"a b"}}""", "service.name" },
        { """{"service":{"image":"img.a"},"simulate_requests":-1}""", "simulate_requests" },
        { """{"service":{"image":"img.a"},"simulate_requests":10001}""", "simulate_requests" },
        { "{\"service\":{\"image\":\"img.a\"},\"sticky_value\":\"" + new string('v', 4097) + "\"}", "sticky_value" },
        { "{\"service\":{\"image\":\"img.a\"},\"headers\":{" + string.Join(",", Enumerable.Range(0, 257).Select(i => $"\"h{i}\":\"v\"")) + "}}", "headers" },
    };

    [Theory]
    [MemberData(nameof(InvalidRequests))]
    public async Task InvalidRequests_AreInvalidArgument_NamingTheField(string json, string field)
    {
        await using var bed = await ThreeInstancesAsync();
        var request = PreviewRouteRequest.Parser.ParseJson(json);
        var error = await FailsAsync(() => bed.PreviewAsync(request));
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("invalid_request", error.Status.Reason());
        Assert.Contains(error.Status.FieldViolations(), v => v.Field == field);
    }
}
