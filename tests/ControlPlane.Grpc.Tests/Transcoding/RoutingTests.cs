using System.Net;
using ControlPlane.Grpc.Server;
using ControlPlane.Grpc.Tests.Transcoding.V1;
using ControlPlane.Grpc.Transcoding;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace ControlPlane.Grpc.Tests.Transcoding;

/// <summary>Which requests reach a method: HTTP methods, unknown and hostile paths, startup checks.</summary>
public sealed class RoutingTests
{
    [Fact]
    public async Task WrongHttpMethod_OnAKnownPath_Is405_WithAllow()
    {
        await using var rest = await RestTestServer.StartAsync();
        using var response = await rest.SendAsync(HttpMethod.Put, "/v1/stats/images", "{}");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(["GET", "HEAD"], response.Content.Headers.Allow);

        using var patch = await rest.SendAsync(HttpMethod.Patch, "/v1/items/x");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, patch.StatusCode);
        Assert.Contains("GET", patch.Content.Headers.Allow);
        Assert.Contains("DELETE", patch.Content.Headers.Allow);

        using var deleted = await rest.SendAsync(HttpMethod.Delete, "/v1/items/x");
        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task UnknownPath_IsTheAppsOrdinary404()
    {
        await using var rest = await RestTestServer.StartAsync(map: app => app.MapGet("/v1/custom", () => "mine"));
        using var unknown = await rest.GetAsync("/v1/nothing/here/at/all");
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Empty(await unknown.Content.ReadAsByteArrayAsync().DefaultTimeout());

        // Literals are case-sensitive (http.proto templates are), and empty segments match no variable.
        using var wrongCase = await rest.GetAsync("/V1/ITEMS/x");
        Assert.Equal(HttpStatusCode.NotFound, wrongCase.StatusCode);
        using var empty = await rest.GetAsync("/v1/files/a//b");
        Assert.Equal(HttpStatusCode.NotFound, empty.StatusCode);

        // The app's own endpoints next to the REST routes are untouched.
        Assert.Equal("mine", await rest.Http.GetStringAsync("/v1/custom").DefaultTimeout());
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task EncodedTraversal_StaysOneValue_OfTheMatchedRoute()
    {
        await using var rest = await RestTestServer.StartAsync();
        var item = await (await rest.GetAsync("/v1/items/..%2F..%2Fetc%2Fpasswd")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("../../etc/passwd", (string?)item["name"]);

        var file = await (await rest.GetAsync("/v1/files/a/..%2F..%2Fetc")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("a/..%2F..%2Fetc", (string?)file["name"]);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task DotSegments_SentAsIs_MatchNoRoute()
    {
        await using var rest = await RestTestServer.StartAsync();
        foreach (var path in new[] { "/v1/files/../items/x", "/v1/files/./x", "/v1/files/a/%2E%2E/b" })
        {
            var uri = new Uri(rest.Server.Address + path.TrimStart('/'), new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
            using var response = await rest.Http.GetAsync(uri).DefaultTimeout();
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task LongSegment_IsServed_UpToKestrelsRequestLineLimit()
    {
        await using var rest = await RestTestServer.StartAsync();
        var name = new string('a', 4000);
        var item = await (await rest.GetAsync("/v1/items/" + name)).JsonAsync(HttpStatusCode.OK);
        Assert.Equal(name, (string?)item["name"]);

        using var tooLong = await rest.GetAsync("/v1/items/" + new string('a', 20_000));
        Assert.Equal(HttpStatusCode.RequestUriTooLong, tooLong.StatusCode);

        var after = await (await rest.GetAsync("/v1/items/still-serving")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("still-serving", (string?)after["name"]);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task ClientStreamingMethodWithHttpRule_FailsAtStartup()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            ConfigureServices = s => s.AddGrpcJsonTranscoding(),
            Map = app => app.MapGrpcService<UploadService>(TranscodingTestReflection.Descriptor.Services[1]),
        }));
        Assert.Contains("'transcoding.v1.UploadService.Upload' is client-streaming and has a google.api.http rule", ex.Message);

        // Without transcoding the rule is not read and the service binds for gRPC.
        await using var grpcOnly = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            Map = app => app.MapGrpcService<UploadService>(TranscodingTestReflection.Descriptor.Services[1]),
        });
    }

    [Fact]
    public async Task WithoutAddGrpcJsonTranscoding_NoRestRoutes()
    {
        await using var server = await GrpcTestServer.StartAsync(new GrpcTestServerOptions
        {
            Protocols = Microsoft.AspNetCore.Server.Kestrel.Core.HttpProtocols.Http1,
            ConfigureServices = s => s.AddSingleton(new TranscodingHooks()),
            Map = app => app.MapGrpcService<TranscodingTestService>(TranscodingTestReflection.Descriptor.Services[0]),
        });
        using var http = new HttpClient { BaseAddress = server.Address };
        using var response = await http.GetAsync("/v1/items/x").DefaultTimeout();
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("/v1/items/x")]
    [InlineData("/v1/items/missing")]
    [InlineData("/v1/stats/images?window=1m")]
    [InlineData("/v1/files/a/b")]
    [InlineData("/v1/items/x?port=notanumber")]
    [InlineData("/v1/watch/w?count=2")]
    public async Task Head_OnAGetRoute_AnswersAsGet_WithoutTheBody(string path)
    {
        await using var rest = await RestTestServer.StartAsync();
        rest.Hooks.Echo = async (request, context) =>
        {
            await context.WriteResponseHeadersAsync(new Metadata { { "x-item", request.Name } });
            return request.Name == "missing" ? throw RpcErrors.Exception(StatusCode.NotFound, "not_found", "no such item") : request;
        };

        using var get = await rest.SendAsync(HttpMethod.Get, path);
        var getBody = await get.Content.ReadAsByteArrayAsync().DefaultTimeout();
        Assert.NotEmpty(getBody);
        using var head = await rest.SendAsync(HttpMethod.Head, path);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync().DefaultTimeout());

        Assert.Equal(get.StatusCode, head.StatusCode);
        Assert.Equal(get.Content.Headers.ContentType, head.Content.Headers.ContentType);
        // HttpClient computes a ContentLength for a buffered body: compare the header as sent.
        Assert.Equal(SentContentLength(get), SentContentLength(head));
        Assert.True(SentContentLength(get) is null || SentContentLength(get) == getBody.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(get.Headers.TryGetValues("x-item", out var a) ? a : [], head.Headers.TryGetValues("x-item", out var b) ? b : []);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task WithFallbacks_UnknownPaths_And405s_AnswerTheJsonErrorBody_AndOptionsListsTheMethods()
    {
        await using var rest = await RestTestServer.StartAsync(map: app => app.UseJsonTranscodingFallbacks());

        using var unknown = await rest.GetAsync("/v1/nothing/here");
        var notFound = await unknown.JsonAsync(HttpStatusCode.NotFound);
        Assert.Equal((int)StatusCode.NotFound, (int)notFound["code"]!);
        Assert.Equal("not_found", notFound.Reason());
        // A path routing took but no template matches (letter case) is the same 404.
        var wrongCase = await (await rest.GetAsync("/V1/ITEMS/x")).JsonAsync(HttpStatusCode.NotFound);
        Assert.Equal("not_found", wrongCase.Reason());

        using var put = await rest.SendAsync(HttpMethod.Put, "/v1/stats/images", "{}");
        Assert.Equal(["GET", "HEAD", "OPTIONS"], put.Content.Headers.Allow);
        var notAllowed = await put.JsonAsync(HttpStatusCode.MethodNotAllowed);
        Assert.Equal((int)StatusCode.InvalidArgument, (int)notAllowed["code"]!);
        Assert.Equal("invalid_request", notAllowed.Reason());
        Assert.Contains("PUT", (string?)notAllowed["message"]);

        using var options = await rest.SendAsync(HttpMethod.Options, "/v1/stats/images");
        Assert.Equal(HttpStatusCode.NoContent, options.StatusCode);
        Assert.Equal(["GET", "HEAD", "OPTIONS"], options.Content.Headers.Allow);
        using var putOnly = await rest.SendAsync(HttpMethod.Options, "/v1/items/x/page");
        Assert.Equal(["PUT", "OPTIONS"], putOnly.Content.Headers.Allow);
        Assert.Empty(await options.Content.ReadAsByteArrayAsync().DefaultTimeout());
        using var unknownOptions = await rest.SendAsync(HttpMethod.Options, "/v1/nothing/here");
        Assert.Equal(HttpStatusCode.NotFound, unknownOptions.StatusCode);

        // The app's own answers and the REST calls' errors are left as they are.
        var item = await (await rest.GetAsync("/v1/items/x")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("x", (string?)item["name"]);
        var failed = await (await rest.SendAsync(HttpMethod.Post, "/v1/fail", """{"code": 5, "message": "gone"}""")).JsonAsync(HttpStatusCode.NotFound);
        Assert.Equal("gone", (string?)failed["message"]);
        rest.Server.AssertNoUnexpectedErrors();
    }

    private static string? SentContentLength(HttpResponseMessage response) =>
        response.Content.Headers.NonValidated.TryGetValues("Content-Length", out var values) ? values.ToString() : null;
}
