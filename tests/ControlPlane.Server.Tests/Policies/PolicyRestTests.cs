using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using ControlPlane.Api.V1;
using ControlPlane.Grpc;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Auth;
using Microsoft.Extensions.DependencyInjection;
using ControlPlane.Server.Tests.Ops;
using static ControlPlane.Server.Tests.Policies.RestCalls;

namespace ControlPlane.Server.Tests.Policies;

/// <summary>The policy API on the real host, over REST as the reference's curl calls it, and over gRPC.</summary>
public sealed class PolicyRestTests : IAsyncLifetime
{
    private const string Token = "s3cret-platform-token";
    private const string Path = "/v1/policy/img.video.svc";
    private const string ReferenceBody = """{"algorithm":"weighted_rr","weights":{"i1":2,"i2":1}}""";

    private ControlPlaneFixture _host = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        _host = await ControlPlaneFixture.StartWithTokenAsync(Token);
        _http = _host.CreateHttpClient();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        AssertNoErrorLogs(_host);
        await _host.DisposeAsync();
    }

    private Task<HttpResponseMessage> PutAsync(string json, string? token = Token, params (string, string)[] headers) =>
        SendAsync(_http, HttpMethod.Put, Path, json, token, headers);

    private async Task<JsonElement> GetAsync(string path, HttpStatusCode expected = HttpStatusCode.OK) =>
        await JsonAsync(await SendAsync(_http, HttpMethod.Get, path), expected);

    [Theory]
    [InlineData(null, 401, 16)]
    [InlineData("wrong-token", 403, 7)]
    public async Task ReferenceCurl_WithoutTheToken_IsRefused_AndChangesNothing(string? token, int status, int code)
    {
        var body = await JsonAsync(await PutAsync(ReferenceBody, token), (HttpStatusCode)status);
        AssertError(body, code, "unauthorized");
        AssertError(await GetAsync(Path, HttpStatusCode.NotFound), 5, "not_found");

        var delete = await JsonAsync(await SendAsync(_http, HttpMethod.Delete, Path, token: token), (HttpStatusCode)status);
        AssertError(delete, code, "unauthorized");
    }

    [Fact]
    public async Task ReferenceCurl_WithTheToken_SetsThePolicy_AndGetAnswersThePolicyObjectItself()
    {
        var set = await JsonAsync(await PutAsync(ReferenceBody), HttpStatusCode.OK);

        Assert.True(set.GetProperty("ok").GetBoolean());
        var policy = set.GetProperty("policy");
        Assert.Equal("img.video.svc", policy.GetProperty("image").GetString());
        Assert.Equal("weighted_rr", policy.GetProperty("algorithm").GetString());
        Assert.Equal(2, policy.GetProperty("weights").GetProperty("i1").GetInt32());
        Assert.Equal(1, policy.GetProperty("weights").GetProperty("i2").GetInt32());
        Assert.Equal("admin", policy.GetProperty("updated_by").GetString());
        Assert.Matches("^[0-9a-f]{16}$", policy.GetProperty("version").GetString());
        Assert.Equal(["i1", "i2"], set.GetProperty("unknown_instance_ids").EnumerateArray().Select(e => e.GetString()));
        Assert.False(set.TryGetProperty("previous", out _));

        var got = await GetAsync(Path);
        Assert.Equal(policy.ToString(), got.ToString()); // the object itself, not {"policy": ...}
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$", got.GetProperty("updated_at").GetString());
    }

    [Fact]
    public async Task Changes_AreCounted_InMetrics()
    {
        (await PutAsync(ReferenceBody)).Dispose();
        (await PutAsync(ReferenceBody)).Dispose();
        (await PutAsync("""{"algorithm":"fastest"}""")).Dispose();
        (await SendAsync(_http, HttpMethod.Post, "/v1/route/preview", """{"service":{"image":"img.none"}}""")).Dispose();

        var text = await _http.GetStringAsync("/metrics").DefaultTimeout();

        Assert.Contains("controlplane_policy_changes_total{action=\"set\",result=\"stored\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("controlplane_policy_changes_total{action=\"set\",result=\"unchanged\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("controlplane_policy_changes_total{action=\"set\",result=\"invalid\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("controlplane_route_previews_total{result=\"not_found\"} 1", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StickyKeyNull_AsInTheReferencesPolicyIn_IsAccepted()
    {
        var set = await JsonAsync(await PutAsync("""{"image":"img.video.svc","algorithm":"weighted_rr","weights":{"i1":2,"i2":1},"sticky_key":null}"""), HttpStatusCode.OK);
        Assert.Equal("", set.GetProperty("policy").GetProperty("sticky_key").GetString());
    }

    [Fact]
    public async Task TheAuditTrail_RecordsTheAgent_TheRequestId_AndTheReason()
    {
        using (var first = await PutAsync("""{"algorithm":"round_robin"}""", Token, ("X-Agent", "lb-policy-agent"), ("X-Request-ID", "req-77")))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }
        string generated;
        using (var second = await PutAsync("""{"algorithm":"consistent_hash","sticky_key":"customer_id","reason":"sessions"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            generated = Assert.Single(second.Headers.GetValues("X-Request-ID"));
        }

        var changes = (await GetAsync(Path + "/changes")).GetProperty("changes");

        Assert.Equal(2, changes.GetArrayLength());
        var newest = changes[0];
        Assert.Equal("set", newest.GetProperty("action").GetString());
        Assert.Equal("admin", newest.GetProperty("actor").GetString());
        Assert.Equal(generated, newest.GetProperty("request_id").GetString());
        Assert.Equal("sessions", newest.GetProperty("reason").GetString());
        Assert.Equal("round_robin", newest.GetProperty("before").GetProperty("algorithm").GetString());
        Assert.Equal("consistent_hash", newest.GetProperty("after").GetProperty("algorithm").GetString());
        var oldest = changes[1];
        Assert.Equal("lb-policy-agent", oldest.GetProperty("actor").GetString());
        Assert.Equal("req-77", oldest.GetProperty("request_id").GetString());
        Assert.False(oldest.TryGetProperty("before", out _));
        Assert.Equal("admin", (await GetAsync(Path)).GetProperty("updated_by").GetString()); // the last change's actor
    }

    [Fact]
    public async Task WithNamedTokens_TheAuditActorIsTheTokensHolder_AndXAgentOnlyFollowsIt()
    {
        var tokens = PlatformToken.FromValues(Token, "PLATFORM_TOKEN", "alice alice-token-1\n", "PLATFORM_TOKENS_FILE");
        await using var host = await ControlPlaneFixture.StartWithServicesAsync(services => services.AddSingleton(tokens));
        using var http = host.CreateHttpClient();
        string[] bodies = ["""{"algorithm":"round_robin"}""", """{"algorithm":"least_conn"}""", """{"algorithm":"weighted_rr"}""", """{"algorithm":"round_robin"}"""];
        (string Token, (string, string)[] Headers)[] callers =
        [
            ("alice-token-1", []),
            ("alice-token-1", [("X-Agent", "lb-policy-agent")]),
            ("alice-token-1", [("X-Agent", "bob")]), // claiming to be someone else names alice all the same
            (Token, [("X-Agent", "lb-policy-agent")]), // the shared token: the agent header is all there is
        ];
        for (var i = 0; i < callers.Length; i++)
        {
            await JsonAsync(await SendAsync(http, HttpMethod.Put, Path, bodies[i], callers[i].Token, callers[i].Headers), HttpStatusCode.OK);
        }

        var changes = (await JsonAsync(await SendAsync(http, HttpMethod.Get, Path + "/changes"), HttpStatusCode.OK)).GetProperty("changes");
        Assert.Equal(["lb-policy-agent", "alice/bob", "alice/lb-policy-agent", "alice"], changes.EnumerateArray().Select(c => c.GetProperty("actor").GetString()));
        AssertNoErrorLogs(host);
    }

    [Fact]
    public async Task ThePolicyGetAnswers_CanBePutBack_AsIsOrEdited()
    {
        (await PutAsync(ReferenceBody)).Dispose();
        var read = await GetAsync(Path);
        Assert.Equal(["image", "algorithm", "weights", "sticky_key", "version", "updated_at", "updated_by"], read.EnumerateObject().Select(p => p.Name));

        // As is: the same content, nothing to store.
        var same = await JsonAsync(await PutAsync(read.GetRawText()), HttpStatusCode.OK);
        Assert.Equal(read.GetProperty("version").GetString(), same.GetProperty("policy").GetProperty("version").GetString());

        // Edited (read-modify-write): stored over the version read; updated_at and updated_by are the server's.
        var edited = JsonNode.Parse(read.GetRawText())!;
        edited["weights"]!["i1"] = 5;
        edited["updated_by"] = "someone-else";
        var set = (await JsonAsync(await PutAsync(edited.ToJsonString(), Token, ("X-Agent", "lb-policy-agent")), HttpStatusCode.OK)).GetProperty("policy");
        Assert.Equal(5, set.GetProperty("weights").GetProperty("i1").GetInt32());
        Assert.NotEqual(read.GetProperty("version").GetString(), set.GetProperty("version").GetString());
        Assert.Equal("lb-policy-agent", set.GetProperty("updated_by").GetString());
        Assert.Equal(2, (await GetAsync(Path + "/changes")).GetProperty("changes").GetArrayLength());
    }

    [Fact]
    public async Task Put_OverAStaleVersion_Is409_VersionMismatch_AndChangesNothing()
    {
        (await PutAsync(ReferenceBody)).Dispose();
        var read = JsonNode.Parse((await GetAsync(Path)).GetRawText())!;
        (await PutAsync("""{"algorithm":"least_conn"}""")).Dispose(); // another writer's change in between
        var current = await GetAsync(Path);

        read["weights"]!["i1"] = 5;
        var conflict = await JsonAsync(await PutAsync(read.ToJsonString()), HttpStatusCode.Conflict);
        AssertError(conflict, (int)StatusCode.Aborted, "version_mismatch");
        var info = conflict.GetProperty("details").EnumerateArray().Single(d => d.GetProperty("reason").ValueKind == JsonValueKind.String);
        Assert.Equal(current.GetProperty("version").GetString(), info.GetProperty("metadata").GetProperty("current_version").GetString());
        read["validate_only"] = true;
        AssertError(await JsonAsync(await PutAsync(read.ToJsonString()), HttpStatusCode.Conflict), (int)StatusCode.Aborted, "version_mismatch");
        Assert.Equal(current.ToString(), (await GetAsync(Path)).ToString());
        Assert.Equal(2, (await GetAsync(Path + "/changes")).GetProperty("changes").GetArrayLength());

        // A version given for an image without a policy: nothing is created.
        var none = await JsonAsync(await SendAsync(_http, HttpMethod.Put, "/v1/policy/img.none", """{"algorithm":"least_conn","version":"0123456789abcdef"}""", Token), HttpStatusCode.Conflict);
        AssertError(none, (int)StatusCode.Aborted, "version_mismatch");
        AssertError(await GetAsync("/v1/policy/img.none", HttpStatusCode.NotFound), 5, "not_found");

        // An empty version is no condition.
        var unconditional = await JsonAsync(await PutAsync("""{"algorithm":"round_robin","version":""}"""), HttpStatusCode.OK);
        Assert.Equal("round_robin", unconditional.GetProperty("policy").GetProperty("algorithm").GetString());
    }

    [Fact]
    public async Task List_And_Delete()
    {
        (await PutAsync(ReferenceBody)).Dispose();
        (await SendAsync(_http, HttpMethod.Put, "/v1/policy/img.audio.svc", """{"algorithm":"least_conn"}""", Token)).Dispose();

        var listed = await GetAsync("/v1/policies");
        Assert.Equal(["img.audio.svc", "img.video.svc"], listed.GetProperty("policies").EnumerateArray().Select(p => p.GetProperty("image").GetString()));
        var page = await GetAsync("/v1/policies?page_size=1");
        Assert.Equal(1, page.GetProperty("policies").GetArrayLength());
        Assert.NotEqual("", page.GetProperty("next_page_token").GetString());

        var deleted = await JsonAsync(await SendAsync(_http, HttpMethod.Delete, Path, token: Token), HttpStatusCode.OK);
        Assert.True(deleted.GetProperty("deleted").GetBoolean());
        Assert.Equal("weighted_rr", deleted.GetProperty("previous").GetProperty("algorithm").GetString());
        AssertError(await GetAsync(Path, HttpStatusCode.NotFound), 5, "not_found");
        AssertError(await JsonAsync(await SendAsync(_http, HttpMethod.Delete, Path, token: Token), HttpStatusCode.NotFound), 5, "not_found");
        Assert.Equal("delete", (await GetAsync(Path + "/changes?limit=1")).GetProperty("changes")[0].GetProperty("action").GetString());
    }

    [Fact]
    public async Task Delete_WithTheReasonInABody_Is400_AndDeletesNothing()
    {
        (await PutAsync(ReferenceBody)).Dispose();
        var body = await JsonAsync(await SendAsync(_http, HttpMethod.Delete, Path, """{"reason":"rollback"}""", Token), HttpStatusCode.BadRequest);
        AssertError(body, 3, "invalid_request");
        Assert.Contains("?reason=", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(["set"], (await GetAsync(Path + "/changes")).GetProperty("changes").EnumerateArray().Select(c => c.GetProperty("action").GetString()));

        await JsonAsync(await SendAsync(_http, HttpMethod.Delete, Path + "?reason=rollback", token: Token), HttpStatusCode.OK);
        Assert.Equal("rollback", (await GetAsync(Path + "/changes?limit=1")).GetProperty("changes")[0].GetProperty("reason").GetString());
    }

    [Theory]
    [InlineData("reason=bad%FF%FEbytes")]
    [InlineData("reason=bad%ZZ")]
    public async Task Delete_WithAReasonThatIsNotPercentEncodedUtf8_Is400_AndDeletesNothing(string query)
    {
        (await PutAsync(ReferenceBody)).Dispose();
        var before = await GetAsync(Path);
        // As sent: System.Uri would otherwise escape the '%' of "%ZZ".
        using var delete = new HttpRequestMessage(HttpMethod.Delete, new Uri(_host.Http + Path.TrimStart('/') + "?" + query, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }));
        delete.Headers.Add("X-Platform-Token", Token);
        var body = await JsonAsync(await _http.SendAsync(delete).DefaultTimeout(), HttpStatusCode.BadRequest);
        AssertError(body, 3, "invalid_request");
        Assert.Equal(["reason"], ViolatedFields(body));
        Assert.Equal(before.ToString(), (await GetAsync(Path)).ToString());
        var changes = (await GetAsync(Path + "/changes")).GetProperty("changes");
        Assert.Equal(["set"], changes.EnumerateArray().Select(c => c.GetProperty("action").GetString()));
    }

    [Theory]
    [InlineData("""{"algorithm":"weighted_rr","weights":{"i1":0}}""", "weights[i1]")]
    [InlineData("""{"algorithm":"consistent_hash"}""", "sticky_key")]
    [InlineData("""{"algorithm":"fastest"}""", "algorithm")]
    [InlineData("""{"weights":{"i1":2}}""", "algorithm")]
    public async Task InvalidPolicy_Is400_PolicyInvalid_WithTheField_AndChangesNothing(string json, string field)
    {
        var body = await JsonAsync(await PutAsync(json), HttpStatusCode.BadRequest);
        AssertError(body, 3, "policy_invalid");
        Assert.Contains(field, ViolatedFields(body));
        AssertError(await GetAsync(Path, HttpStatusCode.NotFound), 5, "not_found");
        Assert.Equal(0, (await GetAsync(Path + "/changes")).GetProperty("changes").GetArrayLength());
    }

    [Theory]
    [InlineData("""{"algorithm": "weighted_rr", """, "malformed JSON")]
    [InlineData("""{"algorithm":"weighted_rr","colour":"blue"}""", "unknown field")]
    [InlineData("""{"algorithm":"weighted_rr","weights":{"i1":"two"}}""", "weight not a number")]
    [InlineData("""{"algorithm":"weighted_rr","weights":{"i1":2.5}}""", "weight not whole")]
    [InlineData("""{"algorithm":"weighted_rr","weights":{"i1":99999999999}}""", "weight beyond int32")]
    [InlineData("""{"algorithm":"weighted_rr","weights":[1,2]}""", "weights not an object")]
    [InlineData("""{"algorithm":["weighted_rr"]}""", "algorithm not a string")]
    [InlineData("""[]""", "not an object")]
    public async Task HostileJson_Is400_PolicyInvalid_AndChangesNothing(string json, string why)
    {
        using var response = await PutAsync(json);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, why);
        // The operations contract's code for a policy whose schema or weights are wrong, also when
        // the body cannot even be read as a policy.
        AssertError(await JsonAsync(response, HttpStatusCode.BadRequest), 3, "policy_invalid");
        AssertError(await GetAsync(Path, HttpStatusCode.NotFound), 5, "not_found");
    }

    [Fact]
    public async Task AWeightThatIsNotWhole_IsPolicyInvalid_NamingTheWeight()
    {
        var body = await JsonAsync(await PutAsync("""{"algorithm":"weighted_rr","weights":{"i1":1.5}}"""), HttpStatusCode.BadRequest);
        AssertError(body, 3, "policy_invalid");
        Assert.Contains(ViolatedFields(body), f => f.StartsWith("weights", StringComparison.Ordinal));
        // Other methods keep the facade's own reason for a body they cannot read.
        var preview = await JsonAsync(await SendAsync(_http, HttpMethod.Post, "/v1/route/preview", """{"image":"img.video.svc","colour":1}"""), HttpStatusCode.BadRequest);
        AssertError(preview, 3, "invalid_request");
    }

    [Fact]
    public async Task BodyImage_OtherThanThePath_Is400_AndStoresNothing()
    {
        var body = await JsonAsync(await PutAsync("""{"image":"img.other","algorithm":"least_conn"}"""), HttpStatusCode.BadRequest);
        AssertError(body, 3, "policy_invalid");
        Assert.Equal(["image"], ViolatedFields(body));
        AssertError(await GetAsync(Path, HttpStatusCode.NotFound), 5, "not_found");
        AssertError(await GetAsync("/v1/policy/img.other", HttpStatusCode.NotFound), 5, "not_found");

        var same = await JsonAsync(await PutAsync("""{"image":"img.video.svc","algorithm":"least_conn"}"""), HttpStatusCode.OK);
        Assert.Equal("img.video.svc", same.GetProperty("policy").GetProperty("image").GetString());
    }

    [Theory]
    [InlineData("""{"algorithm":"weighted_rr","weights":{"i1":2,"i1":1}}""", "weights[i1]")]
    [InlineData("""{"algorithm":"weighted_rr","algorithm":"least_conn"}""", "algorithm")]
    [InlineData("""{"algorithm":"consistent_hash","sticky_key":"a","stickyKey":"b"}""", "sticky_key")]
    public async Task KeyGivenTwice_Is400_NamingIt_AndStoresNothing(string json, string field)
    {
        (await PutAsync(ReferenceBody)).Dispose();
        var before = await GetAsync(Path);

        var body = await JsonAsync(await PutAsync(json), HttpStatusCode.BadRequest);
        AssertError(body, 3, "policy_invalid");
        Assert.Equal([field], ViolatedFields(body));
        Assert.Equal(before.ToString(), (await GetAsync(Path)).ToString());
    }

    [Fact]
    public async Task HugeWeightsMaps_AreRefused_AndTheServerKeepsServing()
    {
        var tooMany = "{\"algorithm\":\"weighted_rr\",\"weights\":{" + string.Join(",", Enumerable.Range(0, 10_001).Select(i => $"\"i{i}\":1")) + "}}";
        var body = await JsonAsync(await PutAsync(tooMany), HttpStatusCode.BadRequest);
        AssertError(body, 3, "policy_invalid");
        Assert.Equal(["weights"], ViolatedFields(body));

        var overLimit = "{\"algorithm\":\"weighted_rr\",\"weights\":{" + string.Join(",", Enumerable.Range(0, 100_000).Select(i => $"\"instance-{i}\":1")) + "}}";
        using (var response = await PutAsync(overLimit))
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        }

        var most = "{\"algorithm\":\"weighted_rr\",\"weights\":{" + string.Join(",", Enumerable.Range(0, 10_000).Select(i => $"\"i{i}\":{1 + (i % 10_000)}")) + "}}";
        var set = await JsonAsync(await PutAsync(most), HttpStatusCode.OK);
        Assert.Equal(10_000, set.GetProperty("policy").GetProperty("weights").EnumerateObject().Count());
        Assert.Equal("ok", await _http.GetStringAsync("/readyz").DefaultTimeout());
    }

    [Fact]
    public async Task OverGrpc_TheTokenAndAgentComeFromMetadata()
    {
        var service = PolicyReflection.Descriptor.Services[0];
        var setPolicy = new Method<SetPolicyRequest, SetPolicyResponse>(service.FindMethodByName("SetPolicy"));
        var getPolicy = new Method<GetPolicyRequest, GetPolicyResponse>(service.FindMethodByName("GetPolicy"));
        using var channel = _host.CreateChannel();
        var request = new SetPolicyRequest { Image = "img.video.svc", Algorithm = "least_conn" };

        var refused = await Assert.ThrowsAsync<RpcException>(() => channel.AsyncUnaryCall(setPolicy, request).ResponseAsync).DefaultTimeout();
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);

        var headers = new Metadata { { "x-platform-token", Token }, { "x-agent", "incident-bot" }, { "x-request-id", "grpc-req-1" } };
        var set = await channel.AsyncUnaryCall(setPolicy, request, new CallOptions(headers: headers)).ResponseAsync.DefaultTimeout();
        Assert.Equal("incident-bot", set.Policy.UpdatedBy);

        var got = await channel.AsyncUnaryCall(getPolicy, new GetPolicyRequest { Image = "img.video.svc" }).ResponseAsync.DefaultTimeout();
        Assert.Equal(set.Policy, got.Policy);
        var change = (await GetAsync(Path + "/changes")).GetProperty("changes")[0];
        Assert.Equal("grpc-req-1", change.GetProperty("request_id").GetString());
    }
}
