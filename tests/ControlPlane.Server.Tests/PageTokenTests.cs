using System.Net;
using System.Text;
using System.Text.Json;
using ControlPlane.Server.Tests.Ops;
using ControlPlane.Server.Tests.Policies;

namespace ControlPlane.Server.Tests;

/// <summary>Page tokens over REST: opaque, URL-safe, good only for the listing and filters that produced them.</summary>
public sealed class PageTokenTests : IAsyncLifetime
{
    private ControlPlaneFixture _host = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        _host = await ControlPlaneFixture.StartAsync();
        _http = _host.CreateHttpClient();
        string[] ids = ["a1", "a2", "a3", "b1", "b2"];
        for (var i = 0; i < ids.Length; i++)
        {
            var name = "svc-" + ids[i][0];
            var json = $$"""{"name":"{{name}}","image":"img.{{name}}","instance_id":"{{ids[i]}}","host":"10.0.0.5","port":{{8080 + i}},"ttl_seconds":30}""";
            using var content = new StringContent(json, Encoding.UTF8, "application/json");
            using var response = await _http.PostAsync("/v1/services/register", content).DefaultTimeout();
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task ATokenPagesItsOwnQuery_WithAnyPageSize()
    {
        var first = await GetAsync("/v1/services?name=svc-a&page_size=1");
        var token = first.GetProperty("next_page_token").GetString()!;
        Assert.Matches("^[A-Za-z0-9_-]+$", token);

        var rest = await GetAsync($"/v1/services?name=svc-a&page_size=5&page_token={token}");

        Assert.Equal(["a1"], Ids(first));
        Assert.Equal(["a2", "a3"], Ids(rest));
        Assert.Equal("", rest.GetProperty("next_page_token").GetString());
    }

    [Theory]
    [InlineData("/v1/services?name=svc-b&page_size=1")]
    [InlineData("/v1/services?name=svc-a&status=draining&page_size=1")]
    [InlineData("/v1/services?image=img.svc-a&page_size=1")]
    [InlineData("/v1/services?page_size=1")]
    [InlineData("/v1/policies?page_size=1")]
    [InlineData("/v1/dataplanes?page_size=1")]
    public async Task ATokenUsedWithAnotherQuery_IsRefused(string otherQuery)
    {
        var token = (await GetAsync("/v1/services?name=svc-a&page_size=1")).GetProperty("next_page_token").GetString()!;

        var body = await RestCalls.JsonAsync(await _http.GetAsync($"{otherQuery}&page_token={token}").DefaultTimeout(), HttpStatusCode.BadRequest);

        RestCalls.AssertError(body, 3, "invalid_request");
        Assert.Equal(["page_token"], RestCalls.ViolatedFields(body));
        Assert.Contains("page_token: does not belong to this query", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAlteredOrHandMadeToken_IsRefused()
    {
        var token = (await GetAsync("/v1/services?name=svc-a&page_size=1")).GetProperty("next_page_token").GetString()!;
        var altered = token[..^1] + (token[^1] == 'A' ? 'B' : 'A');
        // What the tokens used to be: anyone could write one naming any key.
        var handMade = Convert.ToBase64String(Encoding.UTF8.GetBytes("after:a2"));

        foreach (var bad in new[] { altered, Uri.EscapeDataString(handMade), "garbage!" })
        {
            var body = await RestCalls.JsonAsync(await _http.GetAsync($"/v1/services?name=svc-a&page_token={bad}").DefaultTimeout(), HttpStatusCode.BadRequest);
            Assert.Equal(["page_token"], RestCalls.ViolatedFields(body));
            Assert.Contains("is not a token from a previous page", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    private async Task<JsonElement> GetAsync(string path) =>
        await RestCalls.JsonAsync(await _http.GetAsync(path).DefaultTimeout(), HttpStatusCode.OK);

    private static string[] Ids(JsonElement page) =>
        [.. page.GetProperty("instances").EnumerateArray().Select(i => i.GetProperty("instance_id").GetString()!)];
}
