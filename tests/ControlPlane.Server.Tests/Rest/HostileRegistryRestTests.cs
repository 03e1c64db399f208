using System.Net;
using System.Text.Json;
using ControlPlane.Server.Tests.Ops;
using ControlPlane.Server.Tests.Policies;

namespace ControlPlane.Server.Tests.Rest;

/// <summary>
/// The registry's mutating REST methods besides Register (Heartbeat, Drain, Deregister) given
/// malformed, oversized and hostile input: a clear 4xx with the JSON error body, and nothing changed,
/// neither the instance named nor any other.
/// </summary>
public sealed class HostileRegistryRestTests : IAsyncLifetime
{
    private ControlPlaneFixture _host = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        _host = await ControlPlaneFixture.StartAsync();
        _http = _host.CreateHttpClient();
        foreach (var (id, port) in new[] { ("i1", 8080), ("i2", 8081) })
        {
            using var registered = await SendJsonAsync(HttpMethod.Post, "/v1/services/register", $$"""
                {"name":"video-svc","image":"img.video.svc","instance_id":"{{id}}","host":"backend1","port":{{port}},"ttl_seconds":30}
                """);
            Assert.Equal(HttpStatusCode.OK, registered.StatusCode);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
    }

    public static TheoryData<string, string, string, string> BadBodies => new()
    {
        { "PUT", "/v1/services/i1/heartbeat", """{"ttl_seconds": """, "malformed JSON" },
        { "PUT", "/v1/services/i1/heartbeat", """{"ttl_seconds":"sixty"}""", "wrong type" },
        { "PUT", "/v1/services/i1/heartbeat", """{"ttl_seconds":-1}""", "negative TTL" },
        { "PUT", "/v1/services/i1/heartbeat", """{"ttl_seconds":3601}""", "TTL over an hour" },
        { "PUT", "/v1/services/i1/heartbeat", """{"ttl_seconds":1e10}""", "TTL past int32" },
        { "PUT", "/v1/services/i1/heartbeat", """{"ttl_seconds":60,"colour":"blue"}""", "unknown field" },
        { "PUT", "/v1/services/i1/heartbeat", """{"ttl_seconds":60,"ttl_seconds":90}""", "key given twice" },
        { "PUT", "/v1/services/i1/heartbeat", """[60]""", "not an object" },
        { "PUT", "/v1/services/i1/heartbeat", """{"instance_id":"i1\u0000","ttl_seconds":60}""", "control character in the id" },
        { "POST", "/v1/services/i1/drain", """{"resume": """, "malformed JSON" },
        { "POST", "/v1/services/i1/drain", """{"resume":"yes"}""", "wrong type" },
        { "POST", "/v1/services/i1/drain", """{"resume":false,"colour":"blue"}""", "unknown field" },
        { "POST", "/v1/services/i1/drain", """{"resume":false,"resume":true}""", "key given twice" },
        { "POST", "/v1/services/i1/drain", """{"instance_id":"i2"}""", "the body names another instance" },
        { "POST", "/v1/services/i1/drain", """"drain"""", "not an object" },
    };

    [Theory]
    [MemberData(nameof(BadBodies))]
    public async Task ABadBody_Is400_AndChangesNothing(string method, string path, string json, string why)
    {
        var before = await StateAsync();

        using var response = await SendJsonAsync(new HttpMethod(method), path, json);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, why);
        Assert.Equal(before, await StateAsync());
    }

    [Theory]
    [InlineData("PUT", "/v1/services/i1/heartbeat")]
    [InlineData("POST", "/v1/services/i1/drain")]
    public async Task HugeBody_Is413_AndChangesNothing(string method, string path)
    {
        var before = await StateAsync();

        using var response = await SendJsonAsync(new HttpMethod(method), path, "{\"instance_id\":\"" + new string('x', 8 * 1024 * 1024) + "\"}");

        await AssertErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "8 MB body");
        Assert.Equal(before, await StateAsync());
    }

    public static TheoryData<string> HostileIds => new()
    {
        "..%2F..%2Fetc%2Fpasswd",
        "i1%2F..%2Fi2",
        "%2A",
        "i1%00",
        "i1%0D%0AX-Injected:%201",
        "i1%0Ai2",
        "%E2%80%AEi1",
        new string('i', 1_000),
        new string('i', 10_000),
    };

    [Theory]
    [MemberData(nameof(HostileIds))]
    public async Task Deregister_OfAHostileId_IsRefused_AndRemovesNothing(string id)
    {
        var before = await StateAsync();

        using var response = await _http.DeleteAsync("/v1/services/" + id).DefaultTimeout();

        await AssertRefusedAsync(response, id);
        Assert.Equal(before, await StateAsync());
    }

    [Theory]
    [MemberData(nameof(HostileIds))]
    public async Task Drain_OfAHostileId_IsRefused_AndDrainsNothing(string id)
    {
        var before = await StateAsync();

        using var response = await SendJsonAsync(HttpMethod.Post, "/v1/services/" + id + "/drain", "{}");

        await AssertRefusedAsync(response, id);
        Assert.Equal(before, await StateAsync());
    }

    [Theory]
    [MemberData(nameof(HostileIds))]
    public async Task Heartbeat_OfAHostileId_IsRefused_AndRenewsNothing(string id)
    {
        var before = await StateAsync();

        using var response = await _http.PutAsync("/v1/services/" + id + "/heartbeat", null).DefaultTimeout();

        await AssertRefusedAsync(response, id);
        Assert.Equal(before, await StateAsync());
    }

    [Theory]
    [MemberData(nameof(HostileIds))]
    public async Task GetInstance_OfAHostileId_IsRefused_WithoutEchoingIt(string id)
    {
        using var response = await _http.GetAsync("/v1/instances/" + id).DefaultTimeout();

        var text = await AssertRefusedAsync(response, id);
        Assert.DoesNotContain("X-Injected", response.Headers.Select(h => h.Key));
        Assert.False(text.Contains(new string('i', 65), StringComparison.Ordinal), text[..Math.Min(text.Length, 300)]);
    }

    /// <summary>Both instances as the registry lists them, and the whole listing: what no refused call may change.</summary>
    private async Task<string> StateAsync()
    {
        using var listed = await _http.GetAsync("/v1/services?name=video-svc").DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        return await listed.Content.ReadAsStringAsync().DefaultTimeout();
    }

    private Task<HttpResponseMessage> SendJsonAsync(HttpMethod method, string path, string json) => RestCalls.SendAsync(_http, method, path, json);

    /// <summary>
    /// A 4xx with the JSON error body (400, or 404 for an id no instance can have); returns the body.
    /// Kestrel itself refuses a request target holding NUL (400) or longer than its request-line limit
    /// (414), before any endpoint runs, and closes the connection without a body.
    /// </summary>
    private static async Task<string> AssertRefusedAsync(HttpResponseMessage response, string id)
    {
        var text = await response.Content.ReadAsStringAsync().DefaultTimeout();
        var shown = id[..Math.Min(id.Length, 40)];
        if (id.Contains("%00", StringComparison.Ordinal) || id.Length > 8 * 1024)
        {
            Assert.Equal(id.Length > 8 * 1024 ? HttpStatusCode.RequestUriTooLong : HttpStatusCode.BadRequest, response.StatusCode);
            return text;
        }
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{shown}: {(int)response.StatusCode} {text[..Math.Min(text.Length, 300)]}");
        AssertErrorBody(text, shown);
        return text;
    }

    private static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode expected, string why)
    {
        var text = await response.Content.ReadAsStringAsync().DefaultTimeout();
        Assert.True(response.StatusCode == expected, $"{why}: expected {(int)expected}, got {(int)response.StatusCode}: {text[..Math.Min(text.Length, 300)]}");
        AssertErrorBody(text, why);
    }

    private static void AssertErrorBody(string text, string why)
    {
        var body = JsonDocument.Parse(text).RootElement;
        Assert.True(body.GetProperty("code").GetInt32() is 3 or 5, why);
        Assert.False(string.IsNullOrEmpty(body.GetProperty("message").GetString()), why);
        Assert.Contains(body.GetProperty("details").EnumerateArray(), d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc.ErrorInfo");
    }
}
