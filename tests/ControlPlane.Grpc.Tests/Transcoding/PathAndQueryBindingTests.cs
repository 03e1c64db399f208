using System.Net;

namespace ControlPlane.Grpc.Tests.Transcoding;

/// <summary>How the URL (path variables and query parameters) becomes the request message.</summary>
public sealed class PathAndQueryBindingTests
{
    [Fact]
    public async Task PathVariable_TakesAWholeSegment_DotsIncluded()
    {
        await using var rest = await RestTestServer.StartAsync();
        var item = await (await rest.GetAsync("/v1/items/img.video.svc")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("img.video.svc", (string?)item["name"]);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task SingleSegmentVariable_IsFullyPercentDecoded()
    {
        await using var rest = await RestTestServer.StartAsync();
        var item = await (await rest.GetAsync("/v1/items/a%20b%2Fc%3Ad%25e%C3%A9")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("a b/c:d%eé", (string?)item["name"]);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task DoubleWildcard_TakesTheRestOfThePath_KeepingEncodedSlashes()
    {
        await using var rest = await RestTestServer.StartAsync();
        var item = await (await rest.GetAsync("/v1/files/etc/img.video.svc/a%2Fb%20c")).JsonAsync(HttpStatusCode.OK);
        // http.proto: multi-segment variables are decoded except reserved characters such as "/".
        Assert.Equal("etc/img.video.svc/a%2Fb c", (string?)item["name"]);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task VariableWithSegmentTemplate_SetsANestedField_NextToATypedOne()
    {
        await using var rest = await RestTestServer.StartAsync();
        var item = await (await rest.GetAsync("/v1/shelves/shelves/s1/items/8080")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("shelves/s1", (string?)item["page"]!["token"]);
        Assert.Equal(8080, (int)item["port"]!);

        var error = await (await rest.GetAsync("/v1/shelves/shelves/s1/items/http")).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request", error.Reason());
        var violation = Assert.Single(error.Violations());
        Assert.Equal("port", violation.Field);
        Assert.Contains("'http' is not a valid int32", violation.Description);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task Verb_SelectsItsBinding_AfterATrailingDoubleWildcard()
    {
        await using var rest = await RestTestServer.StartAsync();
        var item = await (await rest.GetAsync("/v1/archive/2025/08/img.video.svc:restore")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("2025/08/img.video.svc", (string?)item["name"]);

        using var noVerb = await rest.GetAsync("/v1/archive/2025/08/img.video.svc");
        Assert.Equal(HttpStatusCode.NotFound, noVerb.StatusCode);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task Query_SetsScalarsRepeatedNestedEnumsAndWellKnownTypes()
    {
        await using var rest = await RestTestServer.StartAsync();
        var query = "port=8080&enabled=true&weight=0.25&state=STATE_DRAINING&tags=a&tags=b%20c&ids=1&ids=9007199254740993"
            + "&page.size=3&page.cursor.offset=-5&states=STATE_HEALTHY&states=2&createdAt=2025-08-17T10:20:30Z&ttl=1.5s"
            + "&max_rps=9007199254740993&note=h+i%2B%C3%A9&flag=false&blob=AP8&choice_number=7&maybe=0";
        var item = await (await rest.GetAsync("/v1/items/x?" + query)).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(8080, (int)item["port"]!);
        Assert.True((bool)item["enabled"]!);
        Assert.Equal(0.25, (double)item["weight"]!);
        Assert.Equal("STATE_DRAINING", (string?)item["state"]);
        Assert.Equal(["a", "b c"], item["tags"]!.AsArray().Select(t => (string)t!));
        Assert.Equal("[1,9007199254740993]", item["ids"]!.ToJsonString());
        Assert.Equal(3, (int)item["page"]!["size"]!);
        Assert.Equal(-5, (long)item["page"]!["cursor"]!["offset"]!);
        Assert.Equal(["STATE_HEALTHY", "STATE_DRAINING"], item["states"]!.AsArray().Select(t => (string)t!));
        Assert.Equal("2025-08-17T10:20:30Z", (string?)item["created_at"]);
        Assert.Equal("1.500s", (string?)item["ttl"]);
        Assert.Equal("9007199254740993", item["max_rps"]!.ToJsonString());
        Assert.Equal("h i+é", (string?)item["note"]); // form encoding: '+' is a space
        Assert.False((bool)item["flag"]!);
        Assert.Equal("AP8=", (string?)item["blob"]);
        Assert.Equal(7, (int)item["choice_number"]!);
        Assert.Equal(0, (int)item["maybe"]!);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task Query_UnknownParameter_IsA400NamingIt()
    {
        await using var rest = await RestTestServer.StartAsync();
        var error = await (await rest.GetAsync("/v1/items/x?prot=8080&page.sizee=3")).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal(3, (int)error["code"]!);
        Assert.Equal("invalid_request", error.Reason());
        Assert.Equal(["prot", "page.sizee"], error.Violations().Select(v => v.Field));
        Assert.All(error.Violations(), v => Assert.StartsWith("unknown query parameter", v.Description));
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task Query_FullOfUnknownParameters_NamesTheFirst20_AndSaysThereAreMore()
    {
        await using var rest = await RestTestServer.StartAsync();
        var query = string.Join("&", Enumerable.Range(0, 600).Select(i => $"x{i}=0"));
        var error = await (await rest.GetAsync("/v1/items/x?" + query)).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"x{i}"), error.Violations().Select(v => v.Field));
        Assert.StartsWith("more than 20 invalid fields", (string?)error["message"], StringComparison.Ordinal);
        Assert.DoesNotContain("x20", (string?)error["message"], StringComparison.Ordinal);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Theory]
    [InlineData("port=abc", "port", "'abc' is not a valid int32")]
    [InlineData("port=99999999999", "port", "not a valid int32")]
    [InlineData("count=-1", "count", "not a valid uint32")]
    [InlineData("state=BROKEN", "state", "use one of: STATE_UNSPECIFIED, STATE_HEALTHY, STATE_DRAINING")]
    [InlineData("enabled=yes", "enabled", "use true or false")]
    [InlineData("port=1&port=2", "port", "given more than once")]
    [InlineData("name=other", "name", "set by the URL path")]
    [InlineData("page=x", "page", "is a message")]
    [InlineData("labels=x", "labels", "map field")]
    [InlineData("created_at=yesterday", "created_at", "not a valid google.protobuf.Timestamp")]
    public async Task Query_BadValue_IsA400WithAViolationOnTheField(string query, string field, string description)
    {
        await using var rest = await RestTestServer.StartAsync();
        var error = await (await rest.GetAsync("/v1/items/x?" + query)).JsonAsync(HttpStatusCode.BadRequest);
        var violation = Assert.Single(error.Violations());
        Assert.Equal(field, violation.Field);
        Assert.Contains(description, violation.Description);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Theory]
    [InlineData("note=bad%FF%FEbytes", "note", "value")]    // not UTF-8
    [InlineData("note=%C3%28", "note", "value")]            // an invalid UTF-8 sequence
    [InlineData("note=%ZZ", "note", "value")]               // not an escape
    [InlineData("note=50%", "note", "value")]               // a cut escape
    [InlineData("tags=a&tags=b%E9", "tags", "value")]       // a repeated field's second value
    [InlineData("no%FFte=x", "no%FFte", "name")]             // the name: named as sent, still encoded
    public async Task Query_MalformedPercentEncoding_IsA400NamingTheParameter_AndReachesNoHandler(string query, string field, string part)
    {
        await using var rest = await RestTestServer.StartAsync();
        var calls = 0;
        rest.Hooks.Echo = (request, _) =>
        {
            calls++;
            return Task.FromResult(request);
        };
        // As sent: System.Uri would otherwise escape the '%' of "%ZZ" and "50%".
        var asSent = new Uri(new Uri(rest.Server.Address, "/v1/items/x") + "?" + query, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        using var response = await rest.Http.SendAsync(new HttpRequestMessage(HttpMethod.Delete, asSent)).DefaultTimeout();
        var text = await response.Content.ReadAsStringAsync().DefaultTimeout();
        var error = await response.JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("invalid_request", error.Reason());
        var violation = Assert.Single(error.Violations());
        Assert.Equal(field, violation.Field);
        Assert.Equal($"the query parameter {part} has a malformed percent-encoding or is not UTF-8", violation.Description);
        Assert.DoesNotContain('\uFFFD', text);
        Assert.Equal(0, calls);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task BodyStar_TakesNoQueryParameters()
    {
        await using var rest = await RestTestServer.StartAsync();
        var error = await (await rest.SendAsync(HttpMethod.Post, "/v1/items?port=1", "{}")).JsonAsync(HttpStatusCode.BadRequest);
        var violation = Assert.Single(error.Violations());
        Assert.Equal("port", violation.Field);
        Assert.StartsWith("unknown query parameter", violation.Description);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task BadPercentEncodingInAPathValue_IsA400()
    {
        await using var rest = await RestTestServer.StartAsync();
        var error = await (await rest.GetAsync("/v1/items/%C3%28")).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Equal("name", Assert.Single(error.Violations()).Field);
        rest.Server.AssertNoUnexpectedErrors();
    }
}
