using System.Net;
using System.Net.Http.Headers;
using ControlPlane.Dataplane.Configuration;

namespace ControlPlane.Dataplane.Tests.Forwarder;

/// <summary>What an instance receives, and what the client gets back, for plain HTTP requests.</summary>
public sealed class ForwardingTests
{
    [Theory]
    [InlineData("/g/img/api/items/42?x=1&y=%20two", "/api/items/42", "?x=1&y=%20two")]
    [InlineData("/g/img", "/", "")]
    [InlineData("/g/img/", "/", "")]
    [InlineData("/g/img?only=query", "/", "?only=query")]
    [InlineData("/g/img/a%2Fb/c", "/a%2Fb/c", "")]
    [InlineData("/g/img/%252F/%3F%23", "/%252F/%3F%23", "")]
    public async Task PathAndQuery_ReachTheInstance_AsSent(string target, string expectedPath, string expectedQuery)
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();

        using var response = await client.GetAsync(target).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(backend.Requests);
        Assert.Equal(expectedPath + expectedQuery, seen.RawTarget);
        Assert.Equal(expectedQuery, seen.Query);
        Assert.Equal("b1", response.Headers.GetValues("X-Backend").Single());
    }

    [Fact]
    public async Task Mount_IsOnePathSegment_InAnyCase()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();

        using var upper = await client.GetAsync("/G/img/a?q=1").DefaultTimeout();
        using var longer = await client.GetAsync("/gx/img/a").DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, upper.StatusCode);
        var seen = Assert.Single(backend.Requests);
        Assert.Equal("/a?q=1", seen.RawTarget);
        Assert.Equal("/G/img", seen.Header("X-Forwarded-Prefix"));
        // Not the proxy's: no proxy answer (its JSON error), nothing forwarded.
        Assert.Equal(HttpStatusCode.NotFound, longer.StatusCode);
        Assert.Equal(0, longer.Content.Headers.ContentLength ?? 0);
        Assert.Single(backend.Requests);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("PATCH")]
    [InlineData("DELETE")]
    [InlineData("OPTIONS")]
    public async Task Methods_AndStatus_PassThrough(string method)
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();

        using var request = new HttpRequestMessage(new HttpMethod(method), "/g/img/status/201");
        using var response = await client.SendAsync(request).DefaultTimeout();

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(method, Assert.Single(backend.Requests).Method);
    }

    [Fact]
    public async Task UpstreamErrorStatuses_AreRelayed_NotRewritten()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();

        using var response = await client.GetAsync("/g/img/status/503").DefaultTimeout();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("b1", (await TestBackend.Echo.ReadAsync(response)).Instance);
    }

    [Fact]
    public async Task XForwardedHeaders_DescribeTheClientsRequest()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, "/g/img/x");
        request.Headers.Host = "edge.example:8080";
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", "203.0.113.7");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Proto", "https");
        request.Headers.TryAddWithoutValidation("X-Forwarded-Prefix", "/spoofed");
        using var response = await client.SendAsync(request).DefaultTimeout();

        var seen = Assert.Single(backend.Requests);
        Assert.Equal("203.0.113.7, 127.0.0.1", seen.Header("X-Forwarded-For"));
        Assert.Equal("http", seen.Header("X-Forwarded-Proto"));
        Assert.Equal("edge.example:8080", seen.Header("X-Forwarded-Host"));
        Assert.Equal("/g/img", seen.Header("X-Forwarded-Prefix"));
        // The instance sees its own authority as Host.
        Assert.Equal($"127.0.0.1:{backend.Port}", seen.Header("Host"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ClientSuppliedForwardedXRealIpAndXForwardedPort_NeverReachTheInstance(bool nativeHttp1)
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync(null, $"--Dataplane:Forwarder:NativeHttp1={nativeHttp1}");
        node.Route("img", backend);
        using var client = node.CreateClient();

        // What a client would send to pass for another address, port or scheme to instances that read them.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/g/img/x");
        request.Headers.TryAddWithoutValidation("Forwarded", "for=203.0.113.7;proto=https;host=bank.example");
        request.Headers.TryAddWithoutValidation("X-Real-IP", "203.0.113.7");
        request.Headers.TryAddWithoutValidation("x-forwarded-port", "443");
        // Other spellings of the scheme: Rack takes X-Forwarded-Ssl: on for https before X-Forwarded-Proto.
        string[] scheme = ["X-Forwarded-Ssl", "X-Forwarded-Scheme", "X-Forwarded-Protocol", "Front-End-Https", "X-Url-Scheme"];
        foreach (var name in scheme)
        {
            request.Headers.TryAddWithoutValidation(name, name == "X-Forwarded-Ssl" || name == "Front-End-Https" ? "on" : "https");
        }
        using var response = await client.SendAsync(request).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(backend.Requests);
        Assert.Null(seen.Header("Forwarded"));
        Assert.Null(seen.Header("X-Real-IP"));
        Assert.Null(seen.Header("X-Forwarded-Port"));
        Assert.All(scheme, name => Assert.Null(seen.Header(name)));
        Assert.Equal("http", seen.Header("X-Forwarded-Proto"));
        Assert.Equal("127.0.0.1", seen.Header("X-Forwarded-For"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UnderscoreSpellingsOfTheForwardingHeaders_NeverReachTheInstance_OtherUnderscoreHeadersDo(bool nativeHttp1)
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync(null, $"--Dataplane:Forwarder:NativeHttp1={nativeHttp1}");
        node.Route("img", backend);
        using var client = node.CreateClient();

        // CGI, WSGI, PHP and Rack read X_Real_IP as they read X-Real-IP (HTTP_X_REAL_IP).
        using var request = new HttpRequestMessage(HttpMethod.Get, "/g/img/x");
        string[] spoofed = ["X_Real_IP", "X-Forwarded_Port", "X_Forwarded_For", "x_forwarded_proto", "X_Forwarded_Host", "X_Forwarded_Prefix", "X_Request_ID", "X_Forwarded_Ssl", "Forwarded_"];
        foreach (var name in spoofed)
        {
            request.Headers.TryAddWithoutValidation(name, "203.0.113.7");
        }
        request.Headers.TryAddWithoutValidation("X_App_Header", "kept");
        using var response = await client.SendAsync(request).DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(backend.Requests);
        Assert.All(spoofed.Where(n => n != "Forwarded_"), name => Assert.Null(seen.Header(name)));
        Assert.Equal("203.0.113.7", seen.Header("Forwarded_")); // not a spelling of Forwarded: an ordinary field
        Assert.Equal("kept", seen.Header("X_App_Header"));
        Assert.Equal("127.0.0.1", seen.Header("X-Forwarded-For"));
    }

    [Fact]
    public async Task HopByHopRequestHeaders_AreDropped_EndToEndOnesKept()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);

        // HttpClient rewrites Connection, so the request goes over a bare socket. (Kestrel reduces a
        // Connection header that holds close or keep-alive to that one token, so the fields it
        // names alongside cannot be seen: here it names only the hop-by-hop field.)
        var response = await RawHttp.SendAsync(node.Http,
            "GET /g/img/x HTTP/1.1\r\nHost: edge\r\nConnection: X-Client-Hop\r\nX-Client-Hop: secret\r\n"
            + "Keep-Alive: timeout=5\r\nProxy-Authorization: Basic Zm9vOmJhcg==\r\nProxy-Connection: keep-alive\r\nTE: gzip\r\n"
            + "Upgrade: websocket\r\nTrailer: X-T\r\nX-End-To-End: kept\r\nAuthorization: Bearer t\r\nCookie: a=1; b=2\r\n");

        Assert.Equal(200, response.Status);
        var seen = Assert.Single(backend.Requests);
        foreach (var dropped in new[] { "X-Client-Hop", "Keep-Alive", "Proxy-Authorization", "Proxy-Connection", "TE", "Upgrade", "Trailer" })
        {
            Assert.Null(seen.Header(dropped));
        }
        Assert.Null(seen.Header("Connection"));
        Assert.Equal("kept", seen.Header("X-End-To-End"));
        Assert.Equal("Bearer t", seen.Header("Authorization"));
        Assert.Equal("a=1; b=2", seen.Header("Cookie"));
    }

    [Fact]
    public async Task AClientsXForwardedForNamedInConnection_IsDropped_TheNodesAddressAlone()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);

        var response = await RawHttp.SendAsync(node.Http,
            "GET /g/img/x HTTP/1.1\r\nHost: edge\r\nConnection: X-Forwarded-For\r\nX-Forwarded-For: 198.51.100.9\r\n");

        Assert.Equal(200, response.Status);
        Assert.Equal("127.0.0.1", Assert.Single(backend.Requests).Header("X-Forwarded-For"));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task TrailersASenderMustNotSend_AreNotRelayed_SoAnHttp2ClientKeepsTheResponse(bool nativeHttp1)
    {
        await using var upstream = Http1.RawUpstream.Answering("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n"
            + "Content-Length: 99\r\nSet-Cookie: s=1\r\nContent-Type: text/evil\r\nLocation: /elsewhere\r\nX-Checksum: abc\r\nGrpc-Status: 0\r\n\r\n");
        await using var node = await DataplaneFixture.StartAsync(null, "--Dataplane:PassiveHealth:Enabled=false", $"--Dataplane:Forwarder:NativeHttp1={nativeHttp1}");
        var set = new ControlPlane.Api.V1.EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("raw", upstream.Port));
        node.Config.Update(new ImageConfig("img", set));
        using var client = node.CreateH2cClient();

        using var response = await client.GetAsync("/g/img/t").DefaultTimeout();

        Assert.Equal("hello", await response.Content.ReadAsStringAsync().DefaultTimeout());
        Assert.Equal(["grpc-status", "x-checksum"], response.TrailingHeaders.NonValidated.Select(t => t.Key.ToLowerInvariant()).Order());
    }

    [Fact]
    public async Task TeTrailers_IsTheOneTeValueForwarded()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);

        await RawHttp.SendAsync(node.Http, "GET /g/img/x HTTP/1.1\r\nHost: edge\r\nConnection: TE\r\nTE: trailers, deflate\r\n");

        var forwarded = Assert.Single(backend.Requests);
        Assert.Equal("trailers", forwarded.Header("TE"));
        Assert.Equal("TE", forwarded.Header("Connection")); // its sender names it there on HTTP/1.1 (RFC 9110 §10.1.4)
    }

    [Theory]
    [InlineData(false, true)]
    [InlineData(false, false)]
    [InlineData(true, true)]  // an HTTP/2 client resets a stream whose response carries a connection-specific field (RFC 9113 §8.2.2)
    [InlineData(true, false)]
    public async Task HopByHopResponseHeaders_AreDropped(bool http2Client, bool nativeHttp1)
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync(null, $"--Dataplane:Forwarder:NativeHttp1={nativeHttp1}");
        node.Route("img", backend);
        using var client = http2Client ? node.CreateH2cClient() : node.CreateClient();

        using var response = await client.GetAsync("/g/img/hop").DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("b1", (await TestBackend.Echo.ReadAsync(response)).Instance);
        Assert.False(response.Headers.Contains("X-Backend-Hop"));
        Assert.False(response.Headers.Contains("Keep-Alive"));
        Assert.False(response.Headers.Contains("TE"));
        Assert.False(response.Headers.Contains("Proxy-Authenticate"));
        Assert.False(response.Headers.Contains("Alt-Svc"));
        Assert.Equal("kept", response.Headers.GetValues("X-End-To-End").Single());
    }

    [Fact]
    public async Task RequestId_IsCreatedWhenAbsent_AndSentBothWays()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();

        using var created = await client.GetAsync("/g/img/a").DefaultTimeout();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/g/img/b");
        request.Headers.TryAddWithoutValidation("X-Request-ID", "req-123");
        using var propagated = await client.SendAsync(request).DefaultTimeout();

        var newId = created.Headers.GetValues("X-Request-ID").Single();
        Assert.Matches("^[0-9a-f]{32}$", newId);
        Assert.Equal("req-123", propagated.Headers.GetValues("X-Request-ID").Single());
        var seen = backend.Requests.ToArray();
        Assert.Equal(newId, seen[0].Header("X-Request-ID"));
        Assert.Equal("req-123", seen[1].Header("X-Request-ID"));
    }

    [Fact]
    public async Task Traceparent_ContinuesTheClientsTrace()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        const string parentId = "00f067aa0ba902b7";

        using var request = new HttpRequestMessage(HttpMethod.Get, "/g/img/t");
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{parentId}-01");
        request.Headers.TryAddWithoutValidation("tracestate", "vendor=1");
        using var response = await client.SendAsync(request).DefaultTimeout();

        var seen = Assert.Single(backend.Requests);
        var traceparent = Assert.Single(seen.Headers["traceparent"]);
        var parts = traceparent.Split('-');
        Assert.Equal(traceId, parts[1]);
        // The proxy's own span sits between the client's and the instance's.
        Assert.NotEqual(parentId, parts[2]);
        Assert.Equal("01", parts[3]); // the client's sampling decision is kept
        Assert.Equal("vendor=1", seen.Header("tracestate"));
    }

    [Fact]
    public async Task AnInvalidTraceparent_StartsANewTrace_WithoutTheClientsTracestate()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();

        using var request = new HttpRequestMessage(HttpMethod.Get, "/g/img/t");
        request.Headers.TryAddWithoutValidation("traceparent", "00-NOT-A-TRACE-01");
        request.Headers.TryAddWithoutValidation("tracestate", "vendor=1");
        using var response = await client.SendAsync(request).DefaultTimeout();

        var seen = Assert.Single(backend.Requests);
        Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-00$", Assert.Single(seen.Headers["traceparent"]));
        // W3C Trace Context §3.3: a tracestate goes with the traceparent it came with, which was thrown away.
        Assert.Null(seen.Header("tracestate"));
    }

    [Fact]
    public async Task WithoutATraceparent_TheNodeStartsATrace_AndEachRequestGetsItsOwn()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();

        using (await client.GetAsync("/g/img/a").DefaultTimeout())
        {
        }
        using (await client.GetAsync("/g/img/b").DefaultTimeout())
        {
        }

        var traces = backend.Requests.Select(r => Assert.Single(r.Headers["traceparent"])!.Split('-')).ToArray();
        Assert.Equal(2, traces.Length);
        Assert.All(traces, t => Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-00$", string.Join('-', t)));
        Assert.NotEqual(traces[0][1], traces[1][1]); // a new trace per request, not a shared one
    }

    [Fact]
    public async Task Http2Clients_AreForwardedToHttp11Instances()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateH2cClient();

        using var content = new StringContent("hello");
        using var response = await client.PostAsync("/g/img/echo-body", content).DefaultTimeout();

        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal("hello", await response.Content.ReadAsStringAsync().DefaultTimeout());
        Assert.Equal("HTTP/1.1", Assert.Single(backend.Requests).Protocol);
    }

    [Fact]
    public async Task H2cMetadata_MakesTheNodeSpeakHttp2Upstream()
    {
        await using var backend = await TestBackend.StartAsync("b1", http2: true);
        await using var node = await DataplaneFixture.StartAsync();
        var set = new ControlPlane.Api.V1.EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("b1", backend.Port, protocol: "h2c"));
        node.Config.Update(new ImageConfig("img", set));
        using var client = node.CreateClient();

        using var response = await client.GetAsync("/g/img/x").DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("HTTP/2", Assert.Single(backend.Requests).Protocol);
    }

    [Theory]
    [InlineData(false, true)]  // HTTP/1.1 instance, the node's own HTTP/1.1 client
    [InlineData(false, false)] // HTTP/1.1 instance, SocketsHttpHandler
    [InlineData(true, true)]   // h2c instance
    public async Task HeaderValues_WithBytesPast0x7F_CrossTheNodeUnchanged(bool h2c, bool nativeHttp1)
    {
        // RFC 9110 §5.5 allows them (obs-text); browsers send UTF-8 in cookies, servers UTF-8 file names.
        await using var backend = await TestBackend.StartAsync("b1", http2: h2c);
        await using var node = await DataplaneFixture.StartAsync(null, $"--Dataplane:Forwarder:NativeHttp1={nativeHttp1}");
        var set = new ControlPlane.Api.V1.EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("b1", backend.Port, protocol: h2c ? "h2c" : null));
        node.Config.Update(new ImageConfig("img", set));
        await using var raw = await RawHttp.ConnectAsync(node.Http);

        await raw.WriteAsync([.. "GET /g/img/non-ascii HTTP/1.1\r\nHost: edge\r\nX-Name: "u8, .. "caf\u00e9"u8, .. "\r\n\r\n"u8]);
        var response = await raw.ReadResponseAsync();

        Assert.Equal(200, response.Status);
        Assert.Equal("caf\u00e9", Assert.Single(backend.Requests).Header("X-Name"));                                 // the client's UTF-8 bytes
        Assert.Equal("attachment; filename=\"caf\u00c3\u00a9.pdf\"", response.Headers["Content-Disposition"]); // the instance's bytes C3 A9
        Assert.Equal("\u00e9t\u00e9", response.Headers["X-Latin"]);                                                // and E9 74 E9
    }

    [Fact]
    public async Task ResponseValues_WithBytesPast0x7F_ReachHttp2ClientsUnchanged()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var handler = new SocketsHttpHandler { ResponseHeaderEncodingSelector = static (_, _) => System.Text.Encoding.Latin1 };
        using var client = new HttpClient(handler) { BaseAddress = node.H2c, DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        using var response = await client.GetAsync("/g/img/non-ascii").DefaultTimeout();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("\u00e9t\u00e9", response.Headers.GetValues("X-Latin").Single());
        Assert.Equal("attachment; filename=\"caf\u00c3\u00a9.pdf\"", response.Content.Headers.GetValues("Content-Disposition").Single());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AStatusPast599_IsABrokenReply_Answered502(bool h2c)
    {
        await using var backend = await TestBackend.StartAsync("b1", http2: h2c);
        await using var node = await DataplaneFixture.StartAsync();
        var set = new ControlPlane.Api.V1.EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("b1", backend.Port, protocol: h2c ? "h2c" : null));
        node.Config.Update(new ImageConfig("img", set));
        using var client = node.CreateClient();

        using var response = await client.GetAsync("/g/img/status/600").DefaultTimeout();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("backend_unreachable", await response.Content.ReadAsStringAsync().DefaultTimeout(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResponseTrailers_ReachHttp2Clients()
    {
        await using var backend = await TestBackend.StartAsync("b1", http2: true);
        await using var node = await DataplaneFixture.StartAsync();
        var set = new ControlPlane.Api.V1.EndpointSet { Image = "img" };
        set.Endpoints.Add(DataplaneFixture.EndpointOf("b1", backend.Port, protocol: "h2c"));
        node.Config.Update(new ImageConfig("img", set));
        using var client = node.CreateH2cClient();

        using var response = await client.GetAsync("/g/img/trailers").DefaultTimeout();

        Assert.Equal("body", await response.Content.ReadAsStringAsync().DefaultTimeout());
        Assert.Equal("trailer-value", response.TrailingHeaders.GetValues("x-backend-trailer").Single());
    }

    [Fact]
    public async Task PostWithoutBody_KeepsItsContentHeaders()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);
        using var client = node.CreateClient();

        using var content = new ByteArrayContent([]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync("/g/img/empty", content).DefaultTimeout();

        var seen = Assert.Single(backend.Requests);
        Assert.Equal("application/json", seen.Header("Content-Type"));
        Assert.Equal("0", seen.Header("Content-Length"));
    }
}
