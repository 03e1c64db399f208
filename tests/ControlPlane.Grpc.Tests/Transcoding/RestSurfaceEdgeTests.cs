using System.Net;
using System.Text;
using ControlPlane.Grpc.Transcoding;
using Microsoft.AspNetCore.Builder;

namespace ControlPlane.Grpc.Tests.Transcoding;

/// <summary>Requests on the edge of the REST surface: gRPC content types over HTTP/1.1, loose paths, method case, codings, enums, long values.</summary>
public sealed class RestSurfaceEdgeTests
{
    private static Task<RestTestServer> StartWithFallbacksAsync() => RestTestServer.StartAsync(map: app => app.UseJsonTranscodingFallbacks());

    /// <summary>Counts the calls that reach Echo's handler.</summary>
    private static Func<int> CountEchoCalls(RestTestServer rest)
    {
        var calls = 0;
        rest.Hooks.Echo = (request, _) =>
        {
            Interlocked.Increment(ref calls);
            return Task.FromResult(request);
        };
        return () => Volatile.Read(ref calls);
    }

    /// <summary>One request written as is on a TCP connection: HttpClient upper-cases standard method names it is given in another case.</summary>
    private static async Task<(int Status, string Head, string Body)> SendOnTheWireAsync(RestTestServer rest, string method, string path, string? body = null)
    {
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(rest.Server.Address.Host, rest.Server.Address.Port).DefaultTimeout();
        var stream = tcp.GetStream();
        var content = body is null ? "" : $"Content-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{content}\r\n{body}")).AsTask().DefaultTimeout();
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = await reader.ReadToEndAsync().DefaultTimeout();
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = text[..split];
        return (int.Parse(head.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), head, text[(split + 4)..]);
    }

    private static async Task<HttpResponseMessage> SendRawAsync(RestTestServer rest, string method, string path, string? contentType = null, string? body = null)
    {
        var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (contentType is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body ?? ""));
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }
        return await rest.Http.SendAsync(request).DefaultTimeout();
    }

    [Theory]
    [InlineData("application/grpc")]
    [InlineData("APPLICATION/GRPC+proto")]
    [InlineData("application/grpc; charset=utf-8")]
    public async Task GrpcContentType_OverHttp1_GetsTheRestAnswers(string contentType)
    {
        await using var rest = await StartWithFallbacksAsync();

        using var patch = await SendRawAsync(rest, "PATCH", "/v1/stats/images", contentType, "{}");
        Assert.Equal(["GET", "HEAD", "OPTIONS"], patch.Content.Headers.Allow);
        Assert.Equal("invalid_request", (await patch.JsonAsync(HttpStatusCode.MethodNotAllowed)).Reason());

        using var unknown = await SendRawAsync(rest, "GET", "/nope", contentType, "");
        Assert.Equal("not_found", (await unknown.JsonAsync(HttpStatusCode.NotFound)).Reason());

        using var post = await SendRawAsync(rest, "POST", "/nope", contentType, "");
        Assert.False(post.Headers.Contains("grpc-status"));
        Assert.Equal("not_found", (await post.JsonAsync(HttpStatusCode.NotFound)).Reason());

        using var options = await SendRawAsync(rest, "OPTIONS", "/transcoding.v1.TranscodingTestService/GrpcOnly", contentType, "");
        Assert.Equal(HttpStatusCode.NoContent, options.StatusCode);
        Assert.Equal(["POST", "OPTIONS"], options.Content.Headers.Allow);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Theory]
    [InlineData("/v1/stats/images/")]
    [InlineData("/V1/stats/images")]
    [InlineData("/v1/STATS/images")]
    public async Task LooseVariantsOfAKnownPath_AreUnknownForEveryMethod(string path)
    {
        await using var rest = await StartWithFallbacksAsync();
        foreach (var method in new[] { "GET", "OPTIONS", "PATCH", "PUT" })
        {
            using var response = await SendRawAsync(rest, method, path);
            Assert.Equal("not_found", (await response.JsonAsync(HttpStatusCode.NotFound)).Reason());
            Assert.Empty(response.Content.Headers.Allow);
        }
        using var exact = await SendRawAsync(rest, "OPTIONS", "/v1/stats/images");
        Assert.Equal(HttpStatusCode.NoContent, exact.StatusCode);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Theory]
    [InlineData("get", "/v1/items/x")]
    [InlineData("Get", "/v1/items/x")]
    [InlineData("head", "/v1/items/x")]
    [InlineData("delete", "/v1/items/x")]
    [InlineData("put", "/v1/items/x/page")]
    public async Task MethodsInAnotherLetterCase_AreNotTheStandardOnes(string method, string path)
    {
        await using var rest = await StartWithFallbacksAsync();
        var calls = CountEchoCalls(rest);
        var (status, head, body) = await SendOnTheWireAsync(rest, method, path, method == "put" ? "{}" : null);
        Assert.Equal(405, status);
        Assert.Contains("Allow: ", head, StringComparison.Ordinal);
        Assert.Contains("OPTIONS", head, StringComparison.Ordinal);
        Assert.Contains("invalid_request", body, StringComparison.Ordinal);
        Assert.Equal(0, calls());

        var unknown = await SendOnTheWireAsync(rest, method, "/v1/nothing");
        Assert.Equal(404, unknown.Status);
        Assert.Contains("not_found", unknown.Body, StringComparison.Ordinal);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task MethodsInAnotherLetterCase_WithoutFallbacks_NeverRunTheHandler()
    {
        await using var rest = await RestTestServer.StartAsync();
        var calls = CountEchoCalls(rest);
        var (status, head, _) = await SendOnTheWireAsync(rest, "get", "/v1/items/x");
        Assert.Equal(405, status);
        Assert.Contains("Allow: GET, HEAD", head, StringComparison.Ordinal);
        Assert.Equal(0, calls());
    }

    [Theory]
    [InlineData("application/json; charset=\"utf-8\"")]
    [InlineData("application/json; charset=\"UTF-8\"")]
    [InlineData("application/json; charset=UTF-8")]
    public async Task QuotedCharset_IsTheSameCharset(string contentType)
    {
        await using var rest = await RestTestServer.StartAsync();
        using var response = await SendRawAsync(rest, "POST", "/v1/items", contentType, """{"name":"q"}""");
        Assert.Equal("q", (string?)(await response.JsonAsync(HttpStatusCode.OK))["name"]);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("identity, br")]
    public async Task ContentEncoding_OtherThanIdentity_Is415_AndRunsNothing(string coding)
    {
        await using var rest = await RestTestServer.StartAsync();
        var calls = CountEchoCalls(rest);
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/items") { Content = new StringContent("""{"name":"z"}""", Encoding.UTF8, "application/json") };
        request.Content.Headers.TryAddWithoutValidation("Content-Encoding", coding);
        using var response = await rest.Http.SendAsync(request).DefaultTimeout();
        Assert.Equal("unsupported_media_type", (await response.JsonAsync(HttpStatusCode.UnsupportedMediaType)).Reason());
        Assert.Equal(0, calls());

        var identity = new HttpRequestMessage(HttpMethod.Post, "/v1/items") { Content = new StringContent("""{"name":"z"}""", Encoding.UTF8, "application/json") };
        identity.Content.Headers.TryAddWithoutValidation("Content-Encoding", "identity");
        using var ok = await rest.Http.SendAsync(identity).DefaultTimeout();
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
    }

    [Fact]
    public async Task UndefinedEnumNumbers_AreRefused_DefinedOnesAccepted()
    {
        await using var rest = await RestTestServer.StartAsync();
        var query = await (await rest.GetAsync("/v1/items/x?state=99")).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains(query.Violations(), v => v.Field == "state");
        var body = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", """{"name":"x","state":99}""")).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains(body.Violations(), v => v.Field == "state");
        var repeated = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", """{"name":"x","states":[1,7]}""")).JsonAsync(HttpStatusCode.BadRequest);
        Assert.Contains(repeated.Violations(), v => v.Field == "states[1]");

        var byNumber = await (await rest.GetAsync("/v1/items/x?state=2")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("STATE_DRAINING", (string?)byNumber["state"]);
        var inBody = await (await rest.SendAsync(HttpMethod.Post, "/v1/items", """{"name":"x","state":1,"states":["STATE_DRAINING",0]}""")).JsonAsync(HttpStatusCode.OK);
        Assert.Equal("STATE_HEALTHY", (string?)inBody["state"]);
        rest.Server.AssertNoUnexpectedErrors();
    }

    [Fact]
    public async Task LongValues_AreEchoedCapped()
    {
        await using var rest = await RestTestServer.StartAsync();
        var name = new string('a', 5000);
        foreach (var response in new[]
        {
            await rest.GetAsync("/v1/items/x?" + name + "=1"),
            await rest.GetAsync("/v1/items/x?port=" + name),
            await rest.SendAsync(HttpMethod.Post, "/v1/items", "{\"" + name + "\":1}"),
            await rest.SendAsync(HttpMethod.Post, "/v1/items", "{}", "application/" + name),
        })
        {
            var text = await response.Content.ReadAsStringAsync().DefaultTimeout();
            Assert.True(response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.UnsupportedMediaType, text);
            Assert.DoesNotContain(new string('a', 65), text);
            Assert.Contains("...", text);
            response.Dispose();
        }
    }
}
