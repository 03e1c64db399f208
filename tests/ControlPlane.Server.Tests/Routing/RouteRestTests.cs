using System.Net;
using ControlPlane.Api.V1;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Tests.Ops;
using static ControlPlane.Server.Tests.Policies.RestCalls;

namespace ControlPlane.Server.Tests.Routing;

/// <summary>The route preview on the real host: the reference's curl, after the reference's registrations and policy.</summary>
public sealed class RouteRestTests : IAsyncLifetime
{
    private const string Token = "s3cret-platform-token";
    private const string ReferencePreview = """{"service":{"image":"img.video.svc"}}""";

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

    private async Task RegisterAsync(string id, int port)
    {
        var json = $$"""
            {"name":"video-svc","image":"img.video.svc","instance_id":"{{id}}","host":"backend1","port":{{port}},
             "region":"eu-central","metadata":{"weight":2},"ttl_seconds":30}
            """;
        await JsonAsync(await SendAsync(_http, HttpMethod.Post, "/v1/services/register", json), HttpStatusCode.OK);
    }

    private async Task<System.Text.Json.JsonElement> PreviewAsync(string json, HttpStatusCode expected = HttpStatusCode.OK) =>
        await JsonAsync(await SendAsync(_http, HttpMethod.Post, "/v1/route/preview", json), expected);

    [Fact]
    public async Task ReferenceCurl_AnswersTheEndpointAndWhy()
    {
        await RegisterAsync("i1", 8080);
        await RegisterAsync("i2", 8081);

        var preview = await PreviewAsync(ReferencePreview);

        Assert.Equal("img.video.svc", preview.GetProperty("image").GetString());
        Assert.Equal("round_robin", preview.GetProperty("algorithm").GetString());
        var endpoint = preview.GetProperty("endpoint");
        Assert.Equal("i1", endpoint.GetProperty("instance_id").GetString());
        Assert.Equal("backend1", endpoint.GetProperty("host").GetString());
        Assert.Equal(8080, endpoint.GetProperty("port").GetInt32());
        Assert.Equal("round_robin: i1 is next in rotation (position 1 of 2)", preview.GetProperty("reason").GetString());
        var candidates = preview.GetProperty("candidates");
        Assert.Equal(2, candidates.GetArrayLength());
        Assert.Equal(2, candidates[0].GetProperty("weight").GetInt32());
        Assert.True(candidates[0].GetProperty("eligible").GetBoolean());
        Assert.Equal("healthy", candidates[0].GetProperty("status").GetString());
        Assert.Equal("", preview.GetProperty("policy_version").GetString());
        Assert.Matches("^[0-9a-f]{16}$", preview.GetProperty("endpoints_version").GetString());
    }

    [Fact]
    public async Task AfterTheReferencesWeightedPolicy_TheSimulationSplitsTwoToOne()
    {
        await RegisterAsync("i1", 8080);
        await RegisterAsync("i2", 8081);
        var set = await JsonAsync(await SendAsync(_http, HttpMethod.Put, "/v1/policy/img.video.svc", """{"algorithm":"weighted_rr","weights":{"i1":2,"i2":1}}""", Token), HttpStatusCode.OK);
        Assert.Empty(set.GetProperty("unknown_instance_ids").EnumerateArray());

        var preview = await PreviewAsync("""{"service":{"image":"img.video.svc"},"simulate_requests":300}""");

        Assert.Equal("weighted_rr", preview.GetProperty("algorithm").GetString());
        Assert.Equal("weighted_rr: i1 weight 2 of 3", preview.GetProperty("reason").GetString());
        Assert.Equal(set.GetProperty("policy").GetProperty("version").GetString(), preview.GetProperty("policy_version").GetString());
        var distribution = preview.GetProperty("distribution");
        Assert.Equal(200, distribution.GetProperty("i1").GetInt64());
        Assert.Equal(100, distribution.GetProperty("i2").GetInt64());
    }

    [Fact]
    public async Task StickyKey_FromTheRequestsMaps()
    {
        await RegisterAsync("i1", 8080);
        await RegisterAsync("i2", 8081);
        (await SendAsync(_http, HttpMethod.Put, "/v1/policy/img.video.svc", """{"algorithm":"consistent_hash","sticky_key":"customer_id"}""", Token)).Dispose();

        var preview = await PreviewAsync("""{"service":{"image":"img.video.svc"},"cookies":{"customer_id":"c-1"},"query":{"customer_id":"q-1"}}""");

        Assert.Equal("customer_id", preview.GetProperty("sticky_key").GetString());
        Assert.Equal("c-1", preview.GetProperty("sticky_value").GetString());
        var same = await PreviewAsync("""{"service":{"image":"img.video.svc"},"sticky_value":"c-1","simulate_requests":5}""");
        Assert.Equal(preview.GetProperty("endpoint").ToString(), same.GetProperty("endpoint").ToString());
        Assert.Single(same.GetProperty("distribution").EnumerateObject());
    }

    [Fact]
    public async Task UnknownImage_Is404_NotFound()
    {
        AssertError(await PreviewAsync(ReferencePreview, HttpStatusCode.NotFound), 5, "not_found");
    }

    [Theory]
    [InlineData("""{"service":{"image":"img.video.svc"}""")]
    [InlineData("""{"service":{"image":"img.video.svc","colour":"blue"}}""")]
    [InlineData("""{"service":"img.video.svc"}""")]
    [InlineData("""{"service":{"image":"img.video.svc"},"simulate_requests":"lots"}""")]
    [InlineData("""{"service":{"image":"img.video.svc"},"headers":{"a":1}}""")]
    [InlineData("""{}""")]
    public async Task HostileOrEmptyBodies_Are400(string json)
    {
        await RegisterAsync("i1", 8080);
        var body = await PreviewAsync(json, HttpStatusCode.BadRequest);
        Assert.Equal(3, body.GetProperty("code").GetInt32());
    }

    [Fact]
    public async Task OverGrpc()
    {
        await RegisterAsync("i1", 8080);
        var method = new Method<PreviewRouteRequest, PreviewRouteResponse>(RouteReflection.Descriptor.Services[0].FindMethodByName("PreviewRoute"));
        using var channel = _host.CreateChannel();
        var response = await channel.AsyncUnaryCall(method, new PreviewRouteRequest { Service = new ServiceSelector { Image = "img.video.svc" } }).ResponseAsync.DefaultTimeout();
        Assert.Equal("i1", response.Endpoint.InstanceId);
    }
}
