using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Server.Policies;
using static ControlPlane.Server.Tests.Policies.PolicyTestBed;

namespace ControlPlane.Server.Tests.Policies;

/// <summary>Set, get, list, delete; versions; unknown instance ids; the change signal the discovery push listens to.</summary>
public sealed class PolicyLifecycleTests
{
    [Fact]
    public async Task Set_Get_TheReferenceShape()
    {
        await using var bed = await StartAsync();
        var response = await bed.SetAsync(Set("weighted_rr", weights: [("i2", 1), ("i1", 2)]));

        Assert.True(response.Ok);
        Assert.Null(response.Previous);
        var policy = response.Policy;
        Assert.Equal("img.video.svc", policy.Image);
        Assert.Equal("weighted_rr", policy.Algorithm);
        Assert.Equal(["i1", "i2"], policy.Weights.Keys); // stored in instance-id order
        Assert.Equal(2, policy.Weights["i1"]);
        Assert.Equal("", policy.StickyKey);
        Assert.Matches("^[0-9a-f]{16}$", policy.Version);
        Assert.Equal(bed.Clock.GetUtcNow(), policy.UpdatedAt.ToDateTimeOffset());
        Assert.Equal("lb-policy-agent", policy.UpdatedBy);

        var got = (await bed.Policies.GetAsync(new GetPolicyRequest { Image = "img.video.svc" })).Policy;
        Assert.Equal(policy, got);
    }

    [Fact]
    public async Task Get_WithoutAPolicy_IsNotFound()
    {
        await using var bed = await StartAsync();
        var error = await FailsAsync(() => bed.Policies.GetAsync(new GetPolicyRequest { Image = "img.none" }));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal("not_found", error.Status.Reason());
        Assert.Contains("round_robin", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replace_AnswersThePrevious_AndSignals()
    {
        await using var bed = await StartAsync();
        var first = await bed.SetAsync(Set("round_robin"));
        var second = await bed.SetAsync(Set("least_conn"));

        Assert.Equal(first.Policy, second.Previous);
        Assert.Equal("least_conn", second.Policy.Algorithm);
        Assert.NotEqual(first.Policy.Version, second.Policy.Version);
        Assert.Equal(["img.video.svc", "img.video.svc"], bed.PolicySignals);
    }

    [Fact]
    public async Task EqualContent_KeepsItsVersion_AndStoresSignalsAndAuditsNothing()
    {
        await using var bed = await StartAsync();
        var first = await bed.SetAsync(Set("weighted_rr", weights: [("i1", 2), ("i2", 1)]));
        bed.Clock.Advance(60);

        // Same content, weights in another order, another caller, later: the same policy.
        var again = await bed.SetAsync(Set("weighted_rr", weights: [("i2", 1), ("i1", 2)]), new PolicyCaller("someone-else", "req-2"));

        Assert.True(again.Ok);
        Assert.Equal(first.Policy, again.Policy); // updated_at and updated_by are those of the change that made it
        Assert.Equal(first.Policy, again.Previous);
        Assert.Equal(["img.video.svc"], bed.PolicySignals);
        Assert.Single(await bed.Store.ListChangesAsync("img.video.svc", 100));
    }

    [Fact]
    public async Task Versions_DifferForEveryContentField()
    {
        await using var bed = await StartAsync();
        var versions = new[]
        {
            Set("weighted_rr", weights: [("i1", 2)]),
            Set("weighted_rr", weights: [("i1", 3)]),
            Set("weighted_rr", weights: [("i2", 2)]),
            Set("weighted_rr", weights: [("i1", 2), ("i2", 2)]),
            Set("weighted_rr", stickyKey: "k", weights: [("i1", 2)]),
            Set("least_conn", weights: [("i1", 2)]),
            Set("weighted_rr", image: "img.other", weights: [("i1", 2)]),
        };
        var seen = new List<string>();
        foreach (var request in versions)
        {
            seen.Add((await bed.SetAsync(request)).Policy.Version);
        }
        Assert.Equal(seen.Count, seen.Distinct().Count());
        Assert.Equal(seen[0], PolicyRegistry.VersionOf(new RoutingPolicy { Image = "img.video.svc", Algorithm = "weighted_rr", Weights = { ["i1"] = 2 }, UpdatedBy = "x", Version = "y" }));
    }

    [Fact]
    public async Task UnknownInstanceIds_AreAcceptedAndReported()
    {
        await using var bed = await StartAsync();
        await bed.RegisterAsync("i1");
        await bed.RegisterAsync("i3", image: "img.other"); // known, but not for this image
        await bed.RegisterAsync("i4");
        await bed.DrainAsync("i4");                        // draining: still known

        var response = await bed.SetAsync(Set("weighted_rr", weights: [("i1", 2), ("i3", 1), ("i4", 1), ("i2", 5)]));

        Assert.True(response.Ok);
        Assert.Equal(["i2", "i3"], response.UnknownInstanceIds);
        Assert.Equal(4, response.Policy.Weights.Count);
        Assert.Contains(bed.Logs.Records, r => r.EventId.Id == 6004 && r.Message.Contains("2 instance ids", StringComparison.Ordinal));
    }

    [Fact]
    public async Task List_IsOrderedByImage_AndPages()
    {
        await using var bed = await StartAsync();
        foreach (var image in new[] { "img.c", "img.a", "img.e", "img.b", "img.d" })
        {
            await bed.SetAsync(Set("round_robin", image: image));
        }

        var all = await bed.Policies.ListAsync(new ListPoliciesRequest());
        Assert.Equal(["img.a", "img.b", "img.c", "img.d", "img.e"], all.Policies.Select(p => p.Image));
        Assert.Equal("", all.NextPageToken);

        var pages = new List<string>();
        var token = "";
        do
        {
            var page = await bed.Policies.ListAsync(new ListPoliciesRequest { PageSize = 2, PageToken = token });
            Assert.InRange(page.Policies.Count, 1, 2);
            pages.AddRange(page.Policies.Select(p => p.Image));
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        Assert.Equal(all.Policies.Select(p => p.Image), pages);
    }

    [Fact]
    public async Task Delete_AnswersThePrevious_Signals_AndTheImageHasNoPolicy()
    {
        await using var bed = await StartAsync();
        var set = await bed.SetAsync(Set("least_conn"));
        bed.PolicySignals.Clear();

        var deleted = await bed.Policies.DeleteAsync(new DeletePolicyRequest { Image = "img.video.svc", Reason = "back to defaults" }, Agent).DefaultTimeout();

        Assert.True(deleted.Deleted);
        Assert.Equal(set.Policy, deleted.Previous);
        Assert.Equal(["img.video.svc"], bed.PolicySignals);
        Assert.Equal(StatusCode.NotFound, (await FailsAsync(() => bed.Policies.GetAsync(new GetPolicyRequest { Image = "img.video.svc" }))).StatusCode);

        var again = await FailsAsync(() => bed.Policies.DeleteAsync(new DeletePolicyRequest { Image = "img.video.svc" }, Agent));
        Assert.Equal(StatusCode.NotFound, again.StatusCode);
        Assert.Equal("not_found", again.Status.Reason());
        Assert.Equal(["img.video.svc"], bed.PolicySignals);
    }

    [Fact]
    public async Task TheStoredPolicy_CannotBeChangedThroughAnswers()
    {
        await using var bed = await StartAsync();
        var response = await bed.SetAsync(Set("weighted_rr", weights: [("i1", 2)]));
        response.Policy.Weights["i1"] = 9999;
        (await bed.Policies.GetAsync(new GetPolicyRequest { Image = "img.video.svc" })).Policy.Algorithm = "hacked";

        var stored = (await bed.Policies.GetAsync(new GetPolicyRequest { Image = "img.video.svc" })).Policy;
        Assert.Equal(2, stored.Weights["i1"]);
        Assert.Equal("weighted_rr", stored.Algorithm);
    }
}
