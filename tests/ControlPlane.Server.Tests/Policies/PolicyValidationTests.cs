using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using static ControlPlane.Server.Tests.Policies.PolicyTestBed;

namespace ControlPlane.Server.Tests.Policies;

/// <summary>policy.proto's rules, one by one: INVALID_ARGUMENT, reason policy_invalid, the field named, and nothing changed.</summary>
public sealed class PolicyValidationTests
{
    public static TheoryData<string, SetPolicyRequest, string> Invalid => new()
    {
        { "no algorithm", Set(""), "algorithm" },
        { "unknown algorithm", Set("random"), "algorithm" },
        { "algorithm names are lower-case", Set("ROUND_ROBIN"), "algorithm" },
        { "consistent_hash without sticky_key", Set("consistent_hash"), "sticky_key" },
        { "sticky_key over 128 characters", Set("consistent_hash", stickyKey: new string('k', 129)), "sticky_key" },
        { "sticky_key with a control character", Set("consistent_hash", stickyKey: "customer\nid"), "sticky_key" },
        { "sticky_key of spaces only", Set("consistent_hash", stickyKey: "   "), "sticky_key" },
        { "sticky_key with a space", Set("consistent_hash", stickyKey: "user id"), "sticky_key" },
        { "sticky_key with letters beyond ASCII", Set("consistent_hash", stickyKey: "ключ"), "sticky_key" },
        { "sticky_key with a separator", Set("consistent_hash", stickyKey: "user:id"), "sticky_key" },
        { "sticky_key not a token, with another algorithm", Set("round_robin", stickyKey: "a;b"), "sticky_key" },
        { "weight 0", Set("weighted_rr", weights: [("i1", 0)]), "weights[i1]" },
        { "negative weight", Set("weighted_rr", weights: [("i1", -2)]), "weights[i1]" },
        { "weight over 10000", Set("weighted_rr", weights: [("i1", 10_001)]), "weights[i1]" },
        { "weight keyed by an invalid instance id", Set("weighted_rr", weights: [("not/an id", 1)]), "weights[not/an id]" },
        { "weight keyed by an empty id", Set("weighted_rr", weights: [("", 1)]), "weights[]" },
        { "no image", Set("round_robin", image: ""), "image" },
        { "invalid image", Set("round_robin", image: "img video"), "image" },
        { "image with a trailing newline", Set("round_robin", image: "img.video.svc\n"), "image" },
        { "weight keyed by an id with a trailing newline", Set("weighted_rr", weights: [("i1\n", 1)]), "weights[i1?]" },
        { "reason over 512 characters", new SetPolicyRequest { Image = "img.video.svc", Algorithm = "round_robin", Reason = new string('r', 513) }, "reason" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task EachRule_IsPolicyInvalid_NamingTheField_AndChangesNothing(string why, SetPolicyRequest request, string field)
    {
        await using var bed = await StartAsync();
        await bed.SetAsync(Set("round_robin"));
        bed.PolicySignals.Clear();

        var error = await FailsAsync(() => bed.SetAsync(request));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("policy_invalid", error.Status.Reason());
        Assert.Contains(error.Status.FieldViolations(), v => v.Field == field);
        Assert.Empty(bed.PolicySignals);
        Assert.Equal("round_robin", (await bed.Store.GetAsync("img.video.svc"))!.Algorithm);
        Assert.Single(await bed.Store.ListChangesAsync("img.video.svc", 100));
        Assert.True(why.Length > 0);
    }

    [Fact]
    public async Task ValidValues_AtTheLimits_AreAccepted()
    {
        await using var bed = await StartAsync();
        var request = Set("consistent_hash", stickyKey: new string('k', 128), weights: [("i1", 1), ("i2", 10_000)]);
        request.Reason = new string('r', 512);
        Assert.True((await bed.SetAsync(request)).Ok);
    }

    [Fact]
    public async Task StickyKey_MustBeAnHttpToken_EveryTokenCharacterIsAccepted()
    {
        await using var bed = await StartAsync();
        const string token = "!#$%&'*+-.^_`|~09AZaz";
        Assert.Equal(token, (await bed.SetAsync(Set("consistent_hash", stickyKey: token))).Policy.StickyKey);

        var error = await FailsAsync(() => bed.SetAsync(Set("consistent_hash", stickyKey: "user id")));
        var violation = Assert.Single(error.Status.FieldViolations());
        Assert.Equal("sticky_key", violation.Field);
        Assert.Contains("'user id' is not an HTTP token (RFC 9110 tchar", violation.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StickyKey_WithAnotherAlgorithm_IsKept_AndIgnoredByIt()
    {
        // The reference's PolicyIn allows "sticky_key" with any algorithm.
        await using var bed = await StartAsync();
        var response = await bed.SetAsync(Set("round_robin", stickyKey: "customer_id"));
        Assert.Equal("customer_id", response.Policy.StickyKey);
    }

    [Fact]
    public async Task EveryViolation_IsReportedAtOnce()
    {
        await using var bed = await StartAsync();
        var error = await FailsAsync(() => bed.SetAsync(Set("fastest", image: "", weights: [("i1", 0)])));
        Assert.Equal(["image", "algorithm", "weights[i1]"], error.Status.FieldViolations().Select(v => v.Field));
    }

    [Fact]
    public async Task TooManyWeights_IsOneViolation()
    {
        await using var bed = await StartAsync();
        var request = Set("weighted_rr");
        for (var i = 0; i <= 10_000; i++)
        {
            request.Weights[$"i{i}"] = 1;
        }
        var error = await FailsAsync(() => bed.SetAsync(request));
        var violation = Assert.Single(error.Status.FieldViolations());
        Assert.Equal("weights", violation.Field);
        Assert.Contains("10001 entries", violation.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ManyBadWeights_AreReportedBoundedly_AndHostileKeysAreNotEchoedWhole()
    {
        await using var bed = await StartAsync();
        var request = Set("weighted_rr");
        for (var i = 0; i < 500; i++)
        {
            request.Weights[$"bad id {i} " + new string('x', 1000)] = 1;
        }
        var error = await FailsAsync(() => bed.SetAsync(request));
        var violations = error.Status.FieldViolations();
        Assert.Equal(21, violations.Count);
        Assert.Equal("weights", violations[^1].Field);
        Assert.Contains("480 more", violations[^1].Description, StringComparison.Ordinal);
        Assert.All(violations, v => Assert.True(v.Field.Length < 100, v.Field));
    }

    [Fact]
    public async Task ValidateOnly_ReportsWhatWouldBeStored_AndStoresNothing()
    {
        await using var bed = await StartAsync();
        await bed.RegisterAsync("i1");
        var request = Set("weighted_rr", weights: [("i1", 2), ("i9", 1)]);
        request.ValidateOnly = true;

        var response = await bed.SetAsync(request);

        Assert.True(response.Ok);
        Assert.Equal("weighted_rr", response.Policy.Algorithm);
        Assert.Equal(PolicyRegistryVersion(response.Policy), response.Policy.Version);
        Assert.Null(response.Previous);
        Assert.Equal(["i9"], response.UnknownInstanceIds);
        Assert.Null(await bed.Store.GetAsync("img.video.svc"));
        Assert.Empty(await bed.Store.ListChangesAsync("img.video.svc", 100));
        Assert.Empty(bed.PolicySignals);

        request.Algorithm = "fastest";
        Assert.Equal("policy_invalid", (await FailsAsync(() => bed.SetAsync(request))).Status.Reason());
    }

    [Fact]
    public async Task Delete_And_Reads_ValidateTheirInput()
    {
        await using var bed = await StartAsync();
        var delete = await FailsAsync(() => bed.Policies.DeleteAsync(new DeletePolicyRequest { Image = "img video" }, Agent));
        Assert.Equal("policy_invalid", delete.Status.Reason());
        var reason = await FailsAsync(() => bed.Policies.DeleteAsync(new DeletePolicyRequest { Image = "img.a", Reason = new string('r', 513) }, Agent));
        Assert.Equal("reason", Assert.Single(reason.Status.FieldViolations()).Field);

        Assert.Equal("invalid_request", (await FailsAsync(() => bed.Policies.GetAsync(new GetPolicyRequest { Image = "" }))).Status.Reason());
        Assert.Equal("page_size", Assert.Single((await FailsAsync(() => bed.Policies.ListAsync(new ListPoliciesRequest { PageSize = -1 }))).Status.FieldViolations()).Field);
        Assert.Equal("page_size", Assert.Single((await FailsAsync(() => bed.Policies.ListAsync(new ListPoliciesRequest { PageSize = 10_001 }))).Status.FieldViolations()).Field);
        Assert.Equal("page_token", Assert.Single((await FailsAsync(() => bed.Policies.ListAsync(new ListPoliciesRequest { PageToken = "nonsense!" }))).Status.FieldViolations()).Field);
        Assert.Equal("limit", Assert.Single((await FailsAsync(() => bed.Policies.ListChangesAsync(new ListPolicyChangesRequest { Image = "img.a", Limit = 1001 }))).Status.FieldViolations()).Field);
    }

    private static string PolicyRegistryVersion(RoutingPolicy policy) => Server.Policies.PolicyRegistry.VersionOf(policy);
}
