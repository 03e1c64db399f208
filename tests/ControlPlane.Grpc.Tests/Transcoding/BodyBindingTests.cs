using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ControlPlane.Grpc.Transcoding;

namespace ControlPlane.Grpc.Tests.Transcoding;

/// <summary>How the JSON body becomes the request message, and how bad bodies are refused.</summary>
public sealed class BodyBindingTests
{
    [Fact]
    public async Task BodyStar_IsTheWholeMessage_ProtoOrJsonNames_Int64Exact()
    {
        await using var rest = await RestTestServer.StartAsync();
        var json = """
            {"name": "img.video.svc", "port": 8080, "big": 9007199254740993, "ubig": "18446744073709551615",
             "createdAt": "2025-08-17T10:20:30.5Z", "page": {"size": 2, "cursor": {"offset": -9007199254740993}},
             "labels": {"zone": "a"}, "pages_by_id": {"9007199254740993": {"size": 1}}, "max_rps": 9007199254740993,
             "metadata": {"owner": "ops", "weights": [1, 2.5], "nested": {"on": true, "none": null}}}
            """;
        var item = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", json)).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("img.video.svc", (string?)item["name"]);
        Assert.Equal("9007199254740993", item["big"]!.ToJsonString());
        Assert.Equal("18446744073709551615", item["ubig"]!.ToJsonString());
        Assert.Equal("-9007199254740993", item["page"]!["cursor"]!["offset"]!.ToJsonString());
        Assert.Equal("9007199254740993", item["max_rps"]!.ToJsonString());
        Assert.Equal(1, (int)item["pages_by_id"]!["9007199254740993"]!["size"]!);
        Assert.Equal("2025-08-17T10:20:30.500Z", (string?)item["created_at"]);
        Assert.Equal("""{"owner":"ops","weights":[1,2.5],"nested":{"on":true,"none":null}}""", item["metadata"]!.ToJsonString());
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task BodyStar_AFieldThePathBinds_IsRefused_WhenTheBodyGivesAnotherValue()
    {
        await using var rest = await RestTestServer.StartAsync();
        var calls = 0;
        rest.Hooks.Echo = (request, _) =>
        {
            calls++;
            return Task.FromResult(request);
        };
        var error = await (await rest.SendAsync(HttpMethod.Post, "/v1/items/from-path:merge", """{"name": "from-body", "port": 1}""")).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request", error.Reason());
        var violation = Assert.Single(error.Violations());
        Assert.Equal("name", violation.Field);
        Assert.Contains("another value than the URL path", violation.Description);
        Assert.Equal(0, calls);

        // The same value in both places, or none in the body, is the path's.
        var same = await (await rest.SendAsync(HttpMethod.Post, "/v1/items/from-path:merge", """{"name": "from-path", "port": 1}""")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("from-path", (string?)same["name"]);
        Assert.Equal(1, (int)same["port"]!);
        var leftOut = await (await rest.SendAsync(HttpMethod.Post, "/v1/items/from-path:merge", """{"port": 2}""")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("from-path", (string?)leftOut["name"]);
        Assert.Equal(2, calls);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task BodyField_IsThatField_OthersComeFromQuery()
    {
        await using var rest = await RestTestServer.StartAsync();
        var item = await (await rest.SendAsync(HttpMethod.Put, "/v1/items/x/page?port=7", """{"size": 5, "token": "t"}""")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("x", (string?)item["name"]);
        Assert.Equal(7, (int)item["port"]!);
        Assert.Equal(5, (int)item["page"]!["size"]!);
        Assert.Equal("t", (string?)item["page"]!["token"]);

        // The body can be a repeated field: a JSON array.
        var tags = await (await rest.SendAsync(HttpMethod.Put, "/v1/items/x/tags", """["a", "b"]""")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("""["a","b"]""", tags["tags"]!.ToJsonString());

        var conflict = await (await rest.SendAsync(HttpMethod.Put, "/v1/items/x/page?page.size=1", "{}")).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("set by the request body", Assert.Single(conflict.Violations()).Description);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task BodyField_WithAPathVariableInsideIt_MustAgreeWithThePath()
    {
        // The AIP-134 update shape: PATCH /v1/{book.name=...} with body "book".
        await using var rest = await RestTestServer.StartAsync();
        var error = await (await rest.SendAsync(HttpMethod.Patch, "/v1/pages/t1", """{"size": 2, "token": "other"}""")).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("page.token", Assert.Single(error.Violations()).Field);

        var item = await (await rest.SendAsync(HttpMethod.Patch, "/v1/pages/t1", """{"size": 2, "token": "t1"}""")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("t1", (string?)item["page"]!["token"]);
        Assert.Equal(2, (int)item["page"]!["size"]!);
        var leftOut = await (await rest.SendAsync(HttpMethod.Patch, "/v1/pages/t1", """{"size": 3}""")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("t1", (string?)leftOut["page"]!["token"]);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task EmptyBody_IsAnEmptyMessage()
    {
        await using var rest = await RestTestServer.StartAsync();
        var item = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", "")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("", (string?)item["name"]);
        using var noContent = await rest.Http.PostAsync("/v1/items", null).DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, noContent.StatusCode);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Theory]
    [InlineData("DELETE", """{"port": 1}""", "application/json")]
    [InlineData("DELETE", "garbage", "text/plain")]
    [InlineData("DELETE", "[]", "application/json")]
    [InlineData("GET", """{"port": 1}""", "application/json")]
    [InlineData("DELETE", "{\"port\": 1}                                                                        ", "application/json")]
    public async Task ABody_ToARuleWithoutBody_IsA400SayingTheFieldsGoInTheQuery(string method, string body, string contentType)
    {
        await using var rest = await RestTestServer.StartAsync();
        var calls = 0;
        rest.Hooks.Echo = (request, _) =>
        {
            calls++;
            return Task.FromResult(request);
        };
        var error = await (await rest.SendAsync(new HttpMethod(method), "/v1/items/x", body, contentType)).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request", error.Reason());
        Assert.Equal($"{method} /v1/items/{{name}} takes no request body; its fields go in the query string (for example ?port=<value>).", (string?)error["message"]);
        Assert.Equal(0, calls);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ARuleWithoutBody_ServesNoneOrAnEmptyObject_AndRefusesALargeBodyUnread()
    {
        await using var rest = await RestTestServer.StartAsync();
        foreach (var (body, contentType) in new[] { ("", "application/json"), (" \r\n\t ", "application/json"), ("{}", "application/json"), (" { \n } \n", "text/plain") })
        {
            var item = await (await rest.SendAsync(HttpMethod.Delete, "/v1/items/x?port=7", body, contentType)).JsonAsync(HttpStatusCode.OK);
            Assert.Equal(7, (int)item["port"]!);
        }

        // Chunked, three times the body limit: refused for what it is (not 413), from its first bytes.
        var content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes($$"""{"name": "{{new string('n', 3 * 1024 * 1024)}}"}""")));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Delete, "/v1/items/x") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        var error = await (await rest.Http.SendAsync(request).DefaultTimeout()).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains("takes no request body", (string?)error["message"], StringComparison.Ordinal);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task MalformedJson_IsA400SayingWhere()
    {
        await using var rest = await RestTestServer.StartAsync();
        var error = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", """{"name": "x",}""")).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request", error.Reason());
        Assert.StartsWith("The request body is not valid JSON", (string?)error["message"]);
        Assert.Contains("BytePositionInLine", (string?)error["message"]);

        var page = await (await rest.SendAsync(HttpMethod.Put, "/v1/items/x/page", "{")).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("page", Assert.Single(page.Violations()).Field);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Theory]
    [InlineData("""{"name": "a\ud800b"}""")]                // a lone high surrogate escape
    [InlineData("""{"labels": {"\udc00": "x"}}""")]          // a lone low surrogate, in a map key
    [InlineData("""{"metadata": {"k": ["\ud800"]}}""")]       // inside a Struct
    public async Task StringsThatAreNotUnicodeText_AreA400_NotA500(string json)
    {
        await using var rest = await RestTestServer.StartAsync();
        var error = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", json)).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request", error.Reason());
        Assert.Contains("not valid Unicode", (string?)error["message"]);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task BytesThatAreNotUtf8_AreA400_NotReplaced()
    {
        await using var rest = await RestTestServer.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/items")
        {
            Content = new ByteArrayContent([.. "{\"name\": \"a"u8, 0xFF, 0xFE, .. "\"}"u8]),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await rest.Http.SendAsync(request).DefaultTimeout();
        var error = await response.JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request", error.Reason());
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Theory]
    [InlineData("""{"port": "abc"}""", "port")]
    [InlineData("""{"port": 1.5}""", "port")]
    [InlineData("""{"enabled": "yes"}""", "enabled")]
    [InlineData("""{"big": 99999999999999999999}""", "big")]
    [InlineData("""{"state": "BROKEN"}""", "state")]
    [InlineData("""{"page": {"cursor": {"offset": "x"}}}""", "page.cursor.offset")]
    [InlineData("""{"pages": [{"size": 1}, {"size": "two"}]}""", "pages[1].size")]
    [InlineData("""{"labels": {"a": 1}}""", "labels[a]")]
    [InlineData("""{"created_at": "yesterday"}""", "created_at")]
    [InlineData("""{"tags": "a"}""", "tags")]
    public async Task WrongType_IsA400NamingTheField(string json, string field)
    {
        await using var rest = await RestTestServer.StartAsync();
        var error = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", json)).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request", error.Reason());
        var violation = Assert.Single(error.Violations());
        Assert.Equal(field, violation.Field);
        Assert.NotEmpty(violation.Description);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task UnknownFields_AreA400NamingEach()
    {
        await using var rest = await RestTestServer.StartAsync();
        var error = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", """{"nmae": "x", "page": {"sise": 1}, "pages": [{}, {"x": 1}]}""")).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal(["nmae", "page.sise", "pages[1].x"], error.Violations().Select(v => v.Field));
        Assert.Contains("transcoding.v1.Page has no field 'sise'", error.Violations()[1].Description);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Theory]
    [InlineData("{", "\"x#\": 0", "}", "x19")]                                         // unknown fields
    [InlineData("""{"pages": [""", """{"x": 1}""", "]}", "pages[19].x")]                   // unknown fields, one per element
    [InlineData("""{"states": [""", "9", "]}", "states[19]")]                              // enum numbers the enum does not define
    [InlineData("""{"metadata": {""", "\"a\": 1", "}}", "metadata.a")]                     // a Struct key given again and again
    [InlineData("""{"labels": {""", "\"a\": \"#\"", "}}", "labels[a]")]                  // a map key given again and again
    public async Task ABodyFullOfMistakes_NamesTheFirst20_AndSaysThereAreMore_InASmallError(string head, string part, string tail, string twentieth)
    {
        // The part repeated to nearly the 1 MB limit: ~100,000 mistakes in one request.
        var body = new StringBuilder(head);
        for (var i = 0; body.Length < 1_000_000; i++)
        {
            body.Append(i == 0 ? "" : ",").Append(part.Replace("#", i.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));
        }
        body.Append(tail);
        await using var rest = await RestTestServer.StartAsync();
        var calls = 0;
        rest.Hooks.Echo = (request, _) =>
        {
            calls++;
            return Task.FromResult(request);
        };
        using var response = await rest.SendAsync(HttpMethod.Post, "/v1/items", body.ToString());
        var text = await response.Content.ReadAsStringAsync().DefaultTimeout();
        Assert.True(text.Length < 8 * 1024, $"{text.Length} characters: {text[..Math.Min(text.Length, 300)]}");
        var error = await response.JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request", error.Reason());
        var violations = error.Violations();
        Assert.Equal(RpcErrors.MaxFieldViolations, violations.Count);
        Assert.Equal(twentieth, violations[^1].Field);
        Assert.StartsWith("more than 20 invalid fields", (string?)error["message"], StringComparison.Ordinal);
        Assert.Equal(0, calls);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/json; charset=latin1")]
    public async Task NonJsonBody_Is415(string contentType)
    {
        await using var rest = await RestTestServer.StartAsync();
        var error = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", "{}", contentType)).JsonAsync(HttpStatusCode.UnsupportedMediaType);
        Assert.Equal("unsupported_media_type", error.Reason());
        // INVALID_ARGUMENT: no code maps to 415, and this is a request that cannot be served as sent.
        Assert.Equal((int)StatusCode.InvalidArgument, (int)error["code"]!);
        Assert.Contains(contentType, (string?)error["message"]);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task JsonMediaTypes_AreAccepted()
    {
        await using var rest = await RestTestServer.StartAsync();
        foreach (var type in new[] { "application/json", "application/JSON; charset=UTF-8", "application/merge-patch+json" })
        {
            using var response = await rest.SendAsync(HttpMethod.Post, "/v1/items", """{"port": 1}""", type);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task OversizedBody_Is413_WithOrWithoutContentLength_AndTheServerKeepsServing()
    {
        await using var rest = await RestTestServer.StartAsync(transcoding: o => o.MaxRequestBodySize = 1024);
        var big = """{"name": "%"}""".Replace("%", new string('x', 2000), StringComparison.Ordinal);
        var declared = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", big)).JsonAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("payload_too_large", declared.Reason());
        // Not RESOURCE_EXHAUSTED, which this API answers with 429 (retry later): the same body never fits.
        Assert.Equal((int)StatusCode.InvalidArgument, (int)declared["code"]!);
        Assert.Contains("1024 bytes", (string?)declared["message"]);

        // Chunked: no Content-Length, so the limit applies while reading.
        var chunked = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(big)));
        chunked.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/items") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        var streamed = await (await rest.Http.SendAsync(request).DefaultTimeout()).JsonAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("payload_too_large", streamed.Reason());
        Assert.Equal((int)StatusCode.InvalidArgument, (int)streamed["code"]!);

        var fits = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", """{"name": "ok"}""")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("ok", (string?)fits["name"]);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task BodyUnderTheDefaultLimit_IsAccepted_OverHttp1AndHttp2_AndOneOverItIsNot()
    {
        await using var rest = await RestTestServer.StartAsync();
        var limit = new GrpcJsonTranscodingOptions().MaxRequestBodySize;
        Assert.Equal(1024 * 1024, limit);
        var name = new string('n', limit - 20);
        var item = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", $$"""{"name": "{{name}}"}""")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(name.Length, ((string)item["name"]!).Length);

        await using var h2 = await RestTestServer.StartAsync(protocols: Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http2);
        using var overH2 = new HttpRequestMessage(HttpMethod.Post, "/v1/items")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new StringContent($$"""{"name": "{{name}}"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        var viaH2 = await (await h2.Http.SendAsync(overH2).DefaultTimeout()).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(name.Length, ((string)viaH2["name"]!).Length);
        h2.Server.AssertNoUnexpectedErrors();

        // Three times the limit, streamed without a Content-Length: refused once the limit is passed.
        var content = new StreamContent(new MemoryStream(System.Text.Encoding.UTF8.GetBytes($$"""{"name": "{{new string('n', 3 * limit)}}"}""")));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/items") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        var error = await (await rest.Http.SendAsync(request).DefaultTimeout()).JsonAsync(HttpStatusCode.RequestEntityTooLarge);
        Assert.Equal("payload_too_large", error.Reason());
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task MalformedChunkedBody_IsA400_InJson()
    {
        await using var rest = await RestTestServer.StartAsync();
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(rest.Server.Address.Host, rest.Server.Port).DefaultTimeout();
        await using var stream = tcp.GetStream();
        var request = "POST /v1/items HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request)).AsTask().DefaultTimeout();
        using var reader = new StreamReader(stream);
        var response = await reader.ReadToEndAsync().DefaultTimeout();
        Assert.StartsWith("HTTP/1.1 400", response, StringComparison.Ordinal);
        Assert.Contains("application/json", response, StringComparison.Ordinal);
        Assert.Contains("\"reason\":\"invalid_request\"", response, StringComparison.Ordinal);
        Assert.Contains("The request body could not be read", response, StringComparison.Ordinal);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task AnyInTheBody_ResolvesTypesOfTheBoundServices()
    {
        await using var rest = await RestTestServer.StartAsync();
        var json = """{"extra": {"@type": "type.googleapis.com/transcoding.v1.Page", "size": 4, "cursor": {"offset": 9007199254740993}}}""";
        var item = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", json)).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("""{"@type":"type.googleapis.com/transcoding.v1.Page","size":4,"token":"","cursor":{"offset":9007199254740993}}""", item["extra"]!.ToJsonString());

        var unknown = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", """{"extra": {"@type": "type.googleapis.com/nope.Nope"}}""")).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("extra", Assert.Single(unknown.Violations()).Field);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Theory]
    [InlineData("""{"name": "a", "port": 1, "name": "b"}""", "name")]
    [InlineData("""{"created_at": "2026-01-01T00:00:00Z", "createdAt": "2026-01-02T00:00:00Z"}""", "created_at")]
    [InlineData("""{"page": {"size": 1, "token": "t", "size": 2}}""", "page.size")]
    [InlineData("""{"pages": [{"token": "x"}, {"token": "y", "token": "z"}]}""", "pages[1].token")]
    [InlineData("""{"labels": {"a": "1", "b": "2", "a": "3"}}""", "labels[a]")]
    [InlineData("""{"pages_by_id": {"1": {"token": "x", "token": "y"}}}""", "pages_by_id[1].token")]
    [InlineData("""{"metadata": {"weight": 1, "weight": 2}}""", "metadata.weight")]
    [InlineData("""{"metadata": {"a": {"b": [1, {"c": 1, "c": 2}]}}}""", "metadata.a.b[1].c")]
    [InlineData("""{"anything": {"x": null, "x": 1}}""", "anything.x")]
    [InlineData("""{"extra": {"@type": "type.googleapis.com/transcoding.v1.Page", "size": 1, "size": 2}}""", "extra.size")]
    [InlineData("""{"extra": {"@type": "type.googleapis.com/transcoding.v1.Page", "@type": "type.googleapis.com/transcoding.v1.Cursor"}}""", "extra.@type")]
    public async Task KeyGivenTwice_AtAnyDepth_Is400_NamingItsPath_AndNeverReachesTheHandler(string json, string path)
    {
        await using var rest = await RestTestServer.StartAsync();
        var calls = 0;
        rest.Hooks.Echo = (request, _) =>
        {
            calls++;
            return Task.FromResult(request);
        };
        var error = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", json)).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal(3, (int)error["code"]!);
        Assert.Equal("invalid_request", error.Reason());
        var violation = Assert.Single(error.Violations());
        Assert.Equal(path, violation.Field);
        Assert.Contains("more than once", violation.Description);
        Assert.Equal(0, calls);

        // body: "page" (the body is one field's value): the path starts at that field.
        var field = await (await rest.SendAsync(HttpMethod.Put, "/v1/items/x/page", """{"size": 1, "size": 2}""")).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("page.size", Assert.Single(field.Violations()).Field);
        Assert.Equal(0, calls);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task SameKey_InDifferentObjects_IsNoDuplicate()
    {
        await using var rest = await RestTestServer.StartAsync();
        var json = """{"page": {"size": 1}, "pages": [{"size": 2}, {"size": 3}], "labels": {"size": "4"}, "metadata": {"size": 5, "a": {"size": 6}}}""";
        var item = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", json)).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(1, (int)item["page"]!["size"]!);
        Assert.Equal(6, (int)item["metadata"]!["a"]!["size"]!);
        rest.Server.AssertNoUnexpectedErrors();
    }
}
