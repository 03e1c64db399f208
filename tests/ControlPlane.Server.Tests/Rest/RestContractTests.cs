using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ControlPlane.Grpc.Client;
using ControlPlane.Server.Resources;
using ControlPlane.Server.Tests.Discovery.Fakes;
using ControlPlane.Server.Tests.Ops;

namespace ControlPlane.Server.Tests.Rest;

/// <summary>The registry's REST facade exactly as the reference's curl uses it: paths, JSON field names, status codes, error bodies.</summary>
public sealed class RestContractTests : IAsyncLifetime
{
    private const string Registration = """
        {"name":"video-svc","image":"img.video.svc","instance_id":"i1","host":"backend1","port":8080,
         "region":"eu-central","metadata":{"weight":2},"ttl_seconds":30}
        """;

    private ControlPlaneFixture _host = null!;
    private HttpClient _http = null!;

    public async ValueTask InitializeAsync()
    {
        _host = await ControlPlaneFixture.StartAsync();
        _http = _host.CreateHttpClient();
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _host.DisposeAsync();
    }

    [Fact]
    public async Task Register_AnswersTheReferenceShape()
    {
        using var response = await PostJsonAsync("/v1/services/register", Registration);
        var body = await JsonAsync(response, HttpStatusCode.OK);

        Assert.Equal(1, body.GetProperty("registered").GetInt32());
        Assert.True(body.GetProperty("created").GetBoolean());
        AssertRfc3339(body.GetProperty("expires_at"));
        var instance = body.GetProperty("instance");
        Assert.Equal("i1", instance.GetProperty("instance_id").GetString());
        Assert.Equal(JsonValueKind.Number, instance.GetProperty("port").ValueKind);
        Assert.Equal(8080, instance.GetProperty("port").GetInt32());
        Assert.Equal(30, instance.GetProperty("ttl_seconds").GetInt32());
        Assert.Equal(2, instance.GetProperty("metadata").GetProperty("weight").GetInt32());
        Assert.Equal("healthy", instance.GetProperty("status").GetString());
        AssertRfc3339(instance.GetProperty("registered_at"));
        Assert.StartsWith("application/json", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Heartbeat_List_Instances_Topology_Deregister()
    {
        (await PostJsonAsync("/v1/services/register", Registration)).Dispose();

        using (var beat = await _http.PutAsync("/v1/services/i1/heartbeat", null).DefaultTimeout())
        {
            var body = await JsonAsync(beat, HttpStatusCode.OK);
            Assert.Equal("i1", body.GetProperty("instance_id").GetString());
            Assert.Equal(30, body.GetProperty("ttl_seconds").GetInt32());
            Assert.Equal("healthy", body.GetProperty("status").GetString());
            AssertRfc3339(body.GetProperty("expires_at"));
        }

        var listed = await GetJsonAsync("/v1/services?name=video-svc&status=healthy");
        Assert.Equal("i1", listed.GetProperty("instances")[0].GetProperty("instance_id").GetString());
        Assert.Equal(0, (await GetJsonAsync("/v1/services?image=img.other")).GetProperty("instances").GetArrayLength());

        var instances = await GetJsonAsync("/v1/services/video-svc/instances");
        Assert.Equal("video-svc", instances.GetProperty("name").GetString());
        Assert.Equal(1, instances.GetProperty("instances").GetArrayLength());

        var topology = await GetJsonAsync("/v1/topology");
        var image = topology.GetProperty("images")[0];
        Assert.Equal("img.video.svc", image.GetProperty("image").GetString());
        Assert.Equal("video-svc", image.GetProperty("services")[0].GetProperty("name").GetString());
        Assert.False(topology.GetProperty("self_preservation").GetBoolean());

        using (var deleted = await _http.DeleteAsync("/v1/services/i1").DefaultTimeout())
        {
            Assert.True((await JsonAsync(deleted, HttpStatusCode.OK)).GetProperty("deregistered").GetBoolean());
        }
        using var again = await _http.DeleteAsync("/v1/services/i1").DefaultTimeout();
        AssertError(await JsonAsync(again, HttpStatusCode.NotFound), 5, "not_found");
    }

    [Fact]
    public async Task HeartbeatForAnUnknownInstance_Is404_NotFound()
    {
        using var response = await _http.PutAsync("/v1/services/ghost/heartbeat", null).DefaultTimeout();
        AssertError(await JsonAsync(response, HttpStatusCode.NotFound), 5, "not_found");
    }

    [Fact]
    public async Task InvalidRegistration_Is400_WithFieldViolations_AndChangesNothing()
    {
        using var response = await PostJsonAsync("/v1/services/register", """{"name":"video-svc","image":"img.video.svc","instance_id":"i1","host":"backend1","port":0}""");
        var body = await JsonAsync(response, HttpStatusCode.BadRequest);
        AssertError(body, 3, "invalid_request");
        var violations = body.GetProperty("details").EnumerateArray()
            .Single(d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc.BadRequest")
            .GetProperty("field_violations");
        Assert.Equal("port", violations[0].GetProperty("field").GetString());
        Assert.Equal(0, (await GetJsonAsync("/v1/services")).GetProperty("instances").GetArrayLength());
    }

    [Fact]
    public async Task DuplicateInstanceId_Is409_WithTheReason()
    {
        (await PostJsonAsync("/v1/services/register", Registration)).Dispose();
        using var response = await PostJsonAsync("/v1/services/register", Registration.Replace("video-svc", "other-svc", StringComparison.Ordinal));
        AssertError(await JsonAsync(response, HttpStatusCode.Conflict), 6, "duplicate_instance_id");
    }

    [Theory]
    [InlineData("""{"name": "video-svc", """, "malformed JSON")]
    [InlineData("""{"name":"video-svc","port":"eighty"}""", "wrong type")]
    [InlineData("""{"name":"video-svc","colour":"blue"}""", "unknown field")]
    [InlineData("""[1,2,3]""", "not an object")]
    public async Task BadJson_Is400_AndChangesNothing(string json, string why)
    {
        using var response = await PostJsonAsync("/v1/services/register", json);
        var body = await JsonAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(3, body.GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("message").GetString()), why);
        Assert.Equal(0, (await GetJsonAsync("/v1/services")).GetProperty("instances").GetArrayLength());
    }

    [Fact]
    public async Task ABodyOfOnlyUnknownKeys_GetsASmallError_NamingTheFirst20()
    {
        // ~90,000 unknown keys in just under 1 MB: the error names 20 and says there are more.
        var json = new StringBuilder("{");
        for (var i = 0; json.Length < 1_000_000; i++)
        {
            json.Append(i == 0 ? "" : ",").Append(System.Globalization.CultureInfo.InvariantCulture, $"\"x{i}\":0");
        }
        using var response = await PostJsonAsync("/v1/services/register", json.Append('}').ToString());
        var text = await response.Content.ReadAsStringAsync().DefaultTimeout();
        Assert.True(text.Length < 8 * 1024, $"{text.Length} characters");
        var body = await JsonAsync(response, HttpStatusCode.BadRequest);
        AssertError(body, 3, "invalid_request");
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"x{i}"), ViolatedFieldsOf(body));
        Assert.StartsWith("more than 20 invalid fields", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HugeBody_IsRefused_AndTheServerKeepsServing()
    {
        var huge = "{\"name\":\"" + new string('x', 8 * 1024 * 1024) + "\"}";
        using var response = await PostJsonAsync("/v1/services/register", huge);
        // INVALID_ARGUMENT as every request that cannot be served as sent; RESOURCE_EXHAUSTED would say 429, retry later.
        AssertError(await JsonAsync(response, HttpStatusCode.RequestEntityTooLarge), 3, "payload_too_large");
        Assert.Equal("ok", await _http.GetStringAsync("/readyz").DefaultTimeout());
    }

    [Fact]
    public async Task WrongContentType_Is415()
    {
        using var content = new StringContent(Registration, Encoding.UTF8, "text/plain");
        using var response = await _http.PostAsync("/v1/services/register", content).DefaultTimeout();
        AssertError(await JsonAsync(response, HttpStatusCode.UnsupportedMediaType), 3, "unsupported_media_type");
    }

    [Theory]
    [InlineData("""{"name":"video-svc","image":"img.video.svc","instance_id":"i1","host":"backend1","port":8080,"name":"other-svc"}""", "name")]
    [InlineData("""{"name":"video-svc","image":"img.video.svc","instance_id":"i1","host":"backend1","port":8080,"ttl_seconds":30,"ttlSeconds":60}""", "ttl_seconds")]
    [InlineData("""{"name":"video-svc","image":"img.video.svc","instance_id":"i1","host":"backend1","port":8080,"metadata":{"weight":2,"weight":3}}""", "metadata.weight")]
    [InlineData("""{"name":"video-svc","image":"img.video.svc","instance_id":"i1","host":"backend1","port":8080,"metadata":{"zone":{"a":1,"a":2}}}""", "metadata.zone.a")]
    public async Task KeyGivenTwice_Is400_NamingItsPath_AndChangesNothing(string json, string path)
    {
        using var response = await PostJsonAsync("/v1/services/register", json);
        var body = await JsonAsync(response, HttpStatusCode.BadRequest);
        AssertError(body, 3, "invalid_request");
        Assert.Equal(path, Assert.Single(ViolatedFieldsOf(body)));
        Assert.Equal(0, (await GetJsonAsync("/v1/services")).GetProperty("instances").GetArrayLength());
    }

    [Fact]
    public async Task HeartbeatBody_NamingAnotherInstance_Is400_AndRenewsNothing()
    {
        (await PostJsonAsync("/v1/services/register", Registration)).Dispose();
        var before = (await GetJsonAsync("/v1/instances/i1")).GetProperty("instance");

        using var other = await PutJsonAsync("/v1/services/i1/heartbeat", """{"instance_id":"i2","ttl_seconds":60}""");
        var body = await JsonAsync(other, HttpStatusCode.BadRequest);
        AssertError(body, 3, "invalid_request");
        Assert.Equal(["instance_id"], ViolatedFieldsOf(body));
        var after = (await GetJsonAsync("/v1/instances/i1")).GetProperty("instance");
        Assert.Equal(30, after.GetProperty("ttl_seconds").GetInt32());
        Assert.Equal(before.GetProperty("expires_at").GetString(), after.GetProperty("expires_at").GetString());

        using var same = await PutJsonAsync("/v1/services/i1/heartbeat", """{"instance_id":"i1","ttl_seconds":60}""");
        Assert.Equal(60, (await JsonAsync(same, HttpStatusCode.OK)).GetProperty("ttl_seconds").GetInt32());
    }

    [Theory]
    [InlineData("/v1/services")]
    [InlineData("/v1/services?name=video-svc&status=healthy")]
    [InlineData("/v1/services/video-svc/instances")]
    [InlineData("/v1/instances/i1")]
    [InlineData("/v1/instances/ghost")]
    [InlineData("/v1/services?colour=blue")]
    [InlineData("/v1/policies")]
    [InlineData("/v1/policy/img.none")]
    [InlineData("/v1/policy/img.none/changes")]
    [InlineData("/v1/stats/images?window=1m")]
    [InlineData("/v1/stats/instances?image=img.video.svc&window=5m")]
    [InlineData("/v1/dataplanes")]
    [InlineData("/v1/dataplanes/node-1")]
    [InlineData("/healthz")]
    [InlineData("/readyz")]
    public async Task Head_OnEveryGetEndpoint_IsGet_WithoutTheBody(string path)
    {
        (await PostJsonAsync("/v1/services/register", Registration)).Dispose();
        using var get = await _http.GetAsync(path).DefaultTimeout();
        var getBody = await get.Content.ReadAsByteArrayAsync().DefaultTimeout();
        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, path)).DefaultTimeout();

        Assert.Equal(get.StatusCode, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync().DefaultTimeout());
        Assert.Equal(get.Content.Headers.ContentType, head.Content.Headers.ContentType);
        Assert.Equal(getBody.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), SentContentLength(get));
        Assert.Equal(SentContentLength(get), SentContentLength(head));
    }

    [Theory]
    [InlineData("/v1/topology")]
    [InlineData("/version")]
    [InlineData("/metrics")]
    public async Task Head_OnGetEndpointsWithChangingBodies_IsGet_WithoutTheBody(string path)
    {
        using var get = await _http.GetAsync(path).DefaultTimeout();
        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, path)).DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync().DefaultTimeout());
        Assert.Equal(get.Content.Headers.ContentType, head.Content.Headers.ContentType);
        Assert.Equal(SentContentLength(get) is null, SentContentLength(head) is null);
    }

    [Theory]
    [InlineData("/v1/services/register", "DELETE, POST, OPTIONS")] // DELETE: the instance "register"
    [InlineData("/v1/services/i1/heartbeat", "PUT, OPTIONS")]
    [InlineData("/v1/services/i1", "DELETE, OPTIONS")]
    [InlineData("/v1/services", "GET, HEAD, OPTIONS")]
    [InlineData("/v1/topology", "GET, HEAD, OPTIONS")]
    [InlineData("/v1/policy/img.video.svc", "DELETE, GET, HEAD, PUT, OPTIONS")]
    [InlineData("/v1/route/preview", "POST, OPTIONS")]
    [InlineData("/v1/billing/export", "POST, OPTIONS")]
    [InlineData("/healthz", "GET, HEAD, OPTIONS")]
    [InlineData("/metrics", "GET, HEAD, OPTIONS")]
    public async Task Options_OnADocumentedPath_Is204_WithAllow(string path, string allow)
    {
        using var response = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Options, path)).DefaultTimeout();
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(allow, string.Join(", ", response.Content.Headers.Allow));
        Assert.Empty(await response.Content.ReadAsByteArrayAsync().DefaultTimeout());
    }

    [Theory]
    [InlineData("/v1/nothing")]
    [InlineData("/v1/services/video-svc/instances/extra")]
    [InlineData("/nothing")]
    public async Task UnknownPath_Is404_WithTheJsonErrorBody(string path)
    {
        using var response = await _http.GetAsync(path).DefaultTimeout();
        AssertError(await JsonAsync(response, HttpStatusCode.NotFound), 5, "not_found");
        Assert.StartsWith("application/json", response.Content.Headers.ContentType!.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/v1/services/..%2F..%2Fetc%2Fpasswd/instances")]
    [InlineData("/v1/services/%00/instances")]
    [InlineData("/v1/services/a%20b/instances")]
    public async Task HostilePathValues_AreRefused(string path)
    {
        using var response = await _http.GetAsync(path).DefaultTimeout();
        Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.NotFound, $"{path}: {(int)response.StatusCode}");
    }

    [Fact]
    public async Task LongPathSegment_IsRefused()
    {
        using var response = await _http.GetAsync("/v1/services/" + new string('a', 10_000) + "/instances").DefaultTimeout();
        Assert.True((int)response.StatusCode is >= 400 and < 500, ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task LongPathValue_IsEchoedCapped()
    {
        using var response = await _http.GetAsync("/v1/policy/" + new string('a', 5000)).DefaultTimeout();
        var text = await response.Content.ReadAsStringAsync().DefaultTimeout();
        Assert.True((int)response.StatusCode is >= 400 and < 500, text);
        Assert.False(text.Contains(new string('a', 65), StringComparison.Ordinal), text[..Math.Min(text.Length, 600)]);
    }

    [Fact]
    public async Task ANackWithDetailsOfAnyType_AndAHugeMessage_LeavesTheFleetViewReadable_OverRest()
    {
        (await PostJsonAsync("/v1/services/register", Registration)).Dispose();
        var unknown = new Google.Protobuf.WellKnownTypes.Any { TypeUrl = "type.googleapis.com/acme.v1.Unknown", Value = Google.Protobuf.ByteString.CopyFromUtf8("opaque") };
        var garbled = new Google.Protobuf.WellKnownTypes.Any { TypeUrl = "type.googleapis.com/google.rpc.ErrorInfo", Value = Google.Protobuf.ByteString.CopyFrom(0xFF, 0xFF, 0xFF) };
        var options = new FakeNodeOptions
        {
            Reject = _ => "no",
            Rejection = _ => new Google.Rpc.Status { Code = 3, Message = new string('m', 100_000), Details = { unknown, garbled } },
        };
        using var channel = GrpcChannel.ForAddress(_host.Grpc);
        await using var node = await FakeDeltaNode.ConnectAsync(channel, "nacking-node", options);
        await node.SubscribeAsync(ResourceTypes.EndpointSet, "*");
        await Eventually.WaitAsync("the NACK in the fleet view", async () =>
        {
            using var response = await _http.GetAsync("/v1/dataplanes/nacking-node").DefaultTimeout();
            return response.StatusCode == HttpStatusCode.OK && (await response.Content.ReadAsStringAsync()).Contains("NACKED", StringComparison.Ordinal);
        });

        var type = (await GetJsonAsync("/v1/dataplanes/nacking-node")).GetProperty("dataplane").GetProperty("resource_types")[0];
        var error = type.GetProperty("rejection_error");
        Assert.Equal(2048 + 3, error.GetProperty("message").GetString()!.Length); // cut, with "..."
        var details = error.GetProperty("details").EnumerateArray().ToArray();
        Assert.Equal(["type.googleapis.com/acme.v1.Unknown", "type.googleapis.com/google.rpc.ErrorInfo"], details.Select(d => d.GetProperty("@type").GetString()));
        Assert.Equal("opaque", System.Text.Encoding.UTF8.GetString(details[0].GetProperty("value").GetBytesFromBase64()));
        using var list = await _http.GetAsync("/v1/dataplanes").DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
    }

    [Fact]
    public async Task UndefinedEnumNumberInTheQuery_Is400_NamingTheField()
    {
        using var response = await _http.GetAsync("/v1/dataplanes?state=99").DefaultTimeout();
        var body = await JsonAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains("state", body.GetRawText(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("PATCH", "/v1/topology", HttpStatusCode.MethodNotAllowed)]
    [InlineData("GET", "/nope", HttpStatusCode.NotFound)]
    [InlineData("POST", "/nope", HttpStatusCode.NotFound)]
    [InlineData("PATCH", "/v1/topology/", HttpStatusCode.NotFound)]
    [InlineData("OPTIONS", "/v1/topology/", HttpStatusCode.NotFound)]
    [InlineData("OPTIONS", "/V1/topology", HttpStatusCode.NotFound)]
    public async Task GrpcContentTypeOverHttp1_GetsTheJsonAnswers(string method, string path, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = new ByteArrayContent([]) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc+proto");
        using var response = await _http.SendAsync(request).DefaultTimeout();
        await JsonAsync(response, expected);
        Assert.False(response.Headers.Contains("grpc-status"));
        if (expected == HttpStatusCode.MethodNotAllowed)
        {
            Assert.Contains("OPTIONS", response.Content.Headers.Allow);
        }
    }

    [Fact]
    public async Task Options_OnAGrpcMethodPath_Is204()
    {
        using var request = new HttpRequestMessage(HttpMethod.Options, "/controlplane.v1.RegistryService/Register") { Content = new ByteArrayContent([]) };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
        using var response = await _http.SendAsync(request).DefaultTimeout();
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Equal(["POST", "OPTIONS"], response.Content.Headers.Allow);
    }

    [Theory]
    [InlineData("/v1/services?name=video%FF", "name")]
    [InlineData("/v1/services?name=video%ZZ", "name")]
    [InlineData("/v1/services?status=healthy&image=img.video.svc%C3", "image")]
    public async Task MalformedPercentEncodingInTheQuery_Is400_NamingTheParameter(string path, string field)
    {
        (await PostJsonAsync("/v1/services/register", Registration)).Dispose();
        // As sent: System.Uri would otherwise escape the '%' of "%ZZ".
        var uri = new Uri(_host.Http + path.TrimStart('/'), new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        using var response = await _http.GetAsync(uri).DefaultTimeout();
        var body = await JsonAsync(response, HttpStatusCode.BadRequest);
        AssertError(body, 3, "invalid_request");
        Assert.Equal([field], ViolatedFieldsOf(body));
        Assert.DoesNotContain('\uFFFD', body.GetRawText());
    }

    [Theory]
    [InlineData("""{"window":"5m"}""", "application/json")]
    [InlineData("garbage", "text/plain")]
    public async Task ABody_ToBillingExport_Is400_SayingTheFieldsGoInTheQuery(string body, string contentType)
    {
        using var content = new StringContent(body, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        using var response = await _http.PostAsync("/v1/billing/export", content).DefaultTimeout();
        var error = await JsonAsync(response, HttpStatusCode.BadRequest);
        AssertError(error, 3, "invalid_request");
        Assert.Equal("POST /v1/billing/export takes no request body; its fields go in the query string (for example ?window=<value>).", error.GetProperty("message").GetString());

        // As the reference's curl sends it, or with an empty JSON object: served.
        using var none = await _http.PostAsync("/v1/billing/export?window=5m", null).DefaultTimeout();
        Assert.Equal("5m", (await JsonAsync(none, HttpStatusCode.OK)).GetProperty("window").GetString());
        using var empty = await PostJsonAsync("/v1/billing/export?window=5m", "{}");
        Assert.Equal("5m", (await JsonAsync(empty, HttpStatusCode.OK)).GetProperty("window").GetString());
    }

    [Fact]
    public async Task UnknownQueryParameter_Is400()
    {
        using var response = await _http.GetAsync("/v1/services?colour=blue").DefaultTimeout();
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Theory]
    [InlineData("POST", "/v1/topology", "GET, HEAD, OPTIONS")]
    [InlineData("GET", "/v1/services/register", "DELETE, POST, OPTIONS")]
    [InlineData("PATCH", "/v1/policy/img.video.svc", "DELETE, GET, HEAD, PUT, OPTIONS")]
    [InlineData("DELETE", "/healthz", "GET, HEAD, OPTIONS")]
    [InlineData("GET", "/controlplane.v1.RegistryService/Register", "POST, OPTIONS")]
    public async Task WrongMethodOnAKnownPath_Is405_WithAllow_AndTheJsonErrorBody(string method, string path, string allow)
    {
        using var response = await _http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)).DefaultTimeout();
        Assert.Equal(allow, string.Join(", ", response.Content.Headers.Allow));
        AssertError(await JsonAsync(response, HttpStatusCode.MethodNotAllowed), 3, "invalid_request");
    }

    private async Task<HttpResponseMessage> PostJsonAsync(string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await _http.PostAsync(path, content).DefaultTimeout();
    }

    private async Task<HttpResponseMessage> PutJsonAsync(string path, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return await _http.PutAsync(path, content).DefaultTimeout();
    }

    /// <summary>The Content-Length header as sent (HttpClient computes one for a buffered body).</summary>
    private static string? SentContentLength(HttpResponseMessage response) =>
        response.Content.Headers.NonValidated.TryGetValues("Content-Length", out var values) ? values.ToString() : null;

    private static string[] ViolatedFieldsOf(JsonElement body) =>
        [.. body.GetProperty("details").EnumerateArray()
            .Single(d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc.BadRequest")
            .GetProperty("field_violations").EnumerateArray().Select(v => v.GetProperty("field").GetString()!)];

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await _http.GetAsync(path).DefaultTimeout();
        return await JsonAsync(response, HttpStatusCode.OK);
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync().DefaultTimeout();
        Assert.True(response.StatusCode == expected, $"expected {(int)expected}, got {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static void AssertError(JsonElement body, int code, string reason)
    {
        Assert.Equal(code, body.GetProperty("code").GetInt32());
        Assert.False(string.IsNullOrEmpty(body.GetProperty("message").GetString()));
        var info = body.GetProperty("details").EnumerateArray().Single(d => d.GetProperty("@type").GetString() == "type.googleapis.com/google.rpc.ErrorInfo");
        Assert.Equal(reason, info.GetProperty("reason").GetString());
    }

    private static void AssertRfc3339(JsonElement value)
    {
        Assert.Matches(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$", value.GetString());
    }
}
