using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace ControlPlane.Dataplane.Tests.Forwarder;

/// <summary>Requests meant to escape the image, exhaust the node or confuse the instance: refused, contained, and harmless.</summary>
public sealed class HostileInputTests
{
    [Theory]
    [InlineData("/g/img/../../etc/passwd")]
    [InlineData("/g/img/%2e%2e/%2e%2e/etc/passwd")]
    [InlineData("/g/img/..%2f..%2fetc/passwd")]
    public async Task PathTraversal_NeverLeavesTheImage(string target)
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);

        var response = await RawHttp.SendAsync(node.Http, $"GET {target} HTTP/1.1\r\nHost: edge\r\n");

        // Either the node refuses it, or the instance gets a path inside the image without dot-segments.
        Assert.NotEqual(500, response.Status);
        foreach (var seen in backend.Requests)
        {
            Assert.DoesNotContain("/../", seen.Path + "/", StringComparison.Ordinal);
            Assert.DoesNotContain("..", seen.RawTarget.Replace("..%2f", "", StringComparison.OrdinalIgnoreCase), StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("/g/img/%zz/x", "/%zz/x")]
    [InlineData("/g/img/%E2%82%AC?q=%ZZ&r", "/%E2%82%AC?q=%ZZ&r")]
    [InlineData("/g/img/a;b=c/d@e:f", "/a;b=c/d@e:f")]
    [InlineData("/g/img/a%00b", null)]
    [InlineData("/g/img/%C3%28", "/%C3%28")]
    public async Task OddTargets_AreForwardedVerbatim_OrRefused_NeverA500(string target, string? expected)
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);

        var response = await RawHttp.SendAsync(node.Http, $"GET {target} HTTP/1.1\r\nHost: edge\r\n");

        if (expected is null)
        {
            Assert.Equal(400, response.Status);
            Assert.Empty(backend.Requests);
        }
        else
        {
            Assert.Equal(200, response.Status);
            Assert.Equal(expected, Assert.Single(backend.Requests).RawTarget);
        }
    }

    [Fact]
    public async Task NonAsciiHeaderValues_AreRefused_NeverA500()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);

        await using var raw = await RawHttp.ConnectAsync(node.Http);
        await raw.WriteAsync([.. "GET /g/img/x HTTP/1.1\r\nHost: edge\r\nX-Name: "u8, 0xC3, 0xA9, 0xFF, .. "\r\n\r\n"u8]);
        var response = await raw.ReadResponseAsync();

        Assert.Equal(400, response.Status);
        Assert.Empty(backend.Requests);
    }

    [Fact]
    public async Task DotSegments_AreResolvedBeforeRouting()
    {
        await using var img = await TestBackend.StartAsync("img");
        await using var other = await TestBackend.StartAsync("other");
        await using var node = await DataplaneFixture.StartAsync();
        node.Config.Update(
            new Dataplane.Configuration.ImageConfig("img", DataplaneFixture.EndpointsOf("img", img)),
            new Dataplane.Configuration.ImageConfig("other", DataplaneFixture.EndpointsOf("other", other)));

        var escape = await RawHttp.SendAsync(node.Http, "GET /g/img/../other/secret HTTP/1.1\r\nHost: edge\r\n");
        var inside = await RawHttp.SendAsync(node.Http, "GET /g/img/a/./b/../c HTTP/1.1\r\nHost: edge\r\n");

        // "/g/img/../other/secret" is "/g/other/secret": the image is chosen after normalization.
        Assert.Equal(200, escape.Status);
        Assert.Equal("/secret", Assert.Single(other.Requests).RawTarget);
        Assert.Equal(200, inside.Status);
        Assert.Equal("/a/c", Assert.Single(img.Requests).RawTarget);
    }

    [Theory]
    [InlineData("/g/img/public/./%252e%252e/%252e%252e/admin", "/public/%252e%252e/%252e%252e/admin")] // escaped dots stay escaped
    [InlineData("/g/img/a%252Fb/./c", "/a%252Fb/c")]                                                  // so does an escaped %2F
    [InlineData("/g/img/%2541/./x", "/%2541/x")]
    [InlineData("/g/img/a%2Fb/../c?q=%252e", "/c?q=%252e")]                                         // ".." takes a%2Fb, one segment
    [InlineData("/g/img/a/%2e%2E/b", "/b")]                                                            // %2e is a dot, as Kestrel counts it
    [InlineData("/g/img/a/b/..", "/a/")]
    [InlineData("/g/img/a/.", "/a/")]
    [InlineData("/g/img/a/b/../..", "/")]
    [InlineData("/g/img/a//../b", "/a/b")]
    [InlineData("/g/%69mg/./x%2541", "/x%2541")]                                                       // the image spelled escaped
    [InlineData("http://edge/g/img/sp%20ace/caf%C3%A9?q=%20", "/sp%20ace/caf%C3%A9?q=%20")] // absolute form (a client told to use a proxy): as in origin form
    [InlineData("http://edge/g/img/a%2Fb/%252F/./x", "/a%2Fb/%252F/x")]
    [InlineData("http://edge/g/img", "/")]
    [InlineData("/g/%69mg/sp%20ace/caf%C3%A9/100%25", "/sp%20ace/caf%C3%A9/100%25")]           // the image spelled escaped: the decoded path, escaped once
    [InlineData("/g/img/x?a=b#frag", "/x?a=b")]                                                // a fragment is not sent
    [InlineData("/g/img/x#frag?a=b", "/x")]                                                    // nor a query inside one
    public async Task RequestTargets_ReachTheInstance_DotSegmentsRemoved_DecodedOnlyByTheInstance(string target, string expected)
    {
        // The instance decodes the path once, as the client wrote it: nothing reaches it decoded already.
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);

        var response = await RawHttp.SendAsync(node.Http, $"GET {target} HTTP/1.1\r\nHost: edge\r\n");

        Assert.Equal(200, response.Status);
        Assert.Equal(expected, Assert.Single(backend.Requests).RawTarget);
    }

    [Theory]
    [InlineData("CONNECT /g/img/x HTTP/1.1\r\nHost: edge\r\n", "")]
    [InlineData("CONNECT /g/img/x HTTP/1.1\r\nHost: edge\r\nContent-Length: 5\r\n", "hello")]
    public async Task Connect_IsRefused_AndNeverForwarded(string head, string body)
    {
        // The proxy opens no tunnels (Envoy: 400 for CONNECT on a route without connect support).
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);

        var response = await RawHttp.SendAsync(node.Http, head, body);

        Assert.Equal(400, response.Status);
        Assert.Contains("\"bad_request\"", response.Body, StringComparison.Ordinal);
        Assert.Empty(backend.Requests);
    }

    /// <summary>
    /// Request smuggling: a body whose framing two parsers could read differently. The node frames what
    /// it sends upstream itself, so the instance never sees both framings, nor bytes the node took for a
    /// body as a request of their own. Whatever the node makes of the client's bytes, it is never a 500.
    /// </summary>
    [Theory]
    [InlineData("Content-Length: 44\r\nTransfer-Encoding: chunked\r\n", "0\r\n\r\nGET /g/img/smuggled HTTP/1.1\r\nHost: edge\r\n\r\n")]
    [InlineData("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n", "5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("Transfer-Encoding: chunked, identity\r\n", "5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("Transfer-Encoding: xchunked\r\n", "5\r\nhello\r\n0\r\n\r\n")]
    [InlineData("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!")]
    [InlineData("Content-Length: 5, 6\r\n", "hello!")]
    [InlineData("Content-Length: -5\r\n", "hello")]
    public async Task AmbiguousBodyFraming_NeverReachesTheInstanceAmbiguous(string framing, string body)
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);

        await using var raw = await RawHttp.ConnectAsync(node.Http);
        await raw.WriteAsync("POST /g/img/upload HTTP/1.1\r\nHost: edge\r\n" + framing + "\r\n" + body);
        var response = await raw.ReadResponseAsync();

        Assert.True(response.Status is 200 or 400 or 501, $"{framing}: {response.Status} {response.Body}");
        foreach (var seen in backend.Requests)
        {
            Assert.False(seen.Header("Content-Length") is not null && seen.Header("Transfer-Encoding") is not null, $"{seen.Path}: both framings");
            Assert.DoesNotContain("smuggled", seen.Path, StringComparison.Ordinal);
        }
        if (response.Status != 200)
        {
            Assert.Empty(backend.Requests);
        }
    }

    [Theory]
    [InlineData("gzip, chunked", true)]
    [InlineData("foo, chunked", true)]
    [InlineData("chunked, chunked", true)]
    [InlineData("identity, chunked", true)]
    [InlineData("chunked", false)]
    [InlineData("Chunked", false)]
    public async Task ATransferCodingBesidesChunked_Is501_NeverForwardedWithTheCodingDropped(string codings, bool refused)
    {
        foreach (var nativeHttp1 in new[] { true, false })
        {
            await using var backend = await TestBackend.StartAsync("b1");
            await using var node = await DataplaneFixture.StartAsync(null, $"--Dataplane:Forwarder:NativeHttp1={nativeHttp1}");
            node.Route("img", backend);

            var response = await RawHttp.SendAsync(node.Http,
                $"POST /g/img/upload HTTP/1.1\r\nHost: edge\r\nTransfer-Encoding: {codings}\r\n", "5\r\nhello\r\n0\r\n\r\n");

            if (refused)
            {
                Assert.Equal(501, response.Status);
                Assert.Contains("\"bad_request\"", response.Body, StringComparison.Ordinal);
                Assert.Empty(backend.Requests);
            }
            else
            {
                Assert.Equal(200, response.Status);
                Assert.Contains("\"bytes\":5", response.Body, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task AWebSocketHandshake_IsRefused_NeverForwardedAsAPlainGet()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);

        var response = await RawHttp.SendAsync(node.Http,
            "GET /g/img/ws HTTP/1.1\r\nHost: edge\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n");
        var h2cOffer = await RawHttp.SendAsync(node.Http, "GET /g/img/x HTTP/1.1\r\nHost: edge\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n");

        Assert.Equal(400, response.Status);
        Assert.Contains("\"bad_request\"", response.Body, StringComparison.Ordinal);
        Assert.Equal(200, h2cOffer.Status); // an offer the node may ignore: served over HTTP/1.1
        Assert.Equal("/x", Assert.Single(backend.Requests).RawTarget);
    }

    [Fact]
    public async Task HugeHeaders_Are431_AndNeverReachTheInstance()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);

        var response = await RawHttp.SendAsync(node.Http, $"GET /g/img/x HTTP/1.1\r\nHost: edge\r\nX-Big: {new string('a', 64 * 1024)}\r\n");

        Assert.Equal(431, response.Status);
        Assert.Empty(backend.Requests);
    }

    [Fact]
    public async Task HugeRequestLine_Is414()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img", backend);

        var response = await RawHttp.SendAsync(node.Http, $"GET /g/img/{new string('a', 16 * 1024)} HTTP/1.1\r\nHost: edge\r\n");

        Assert.Equal(414, response.Status);
        Assert.Empty(backend.Requests);
    }

    [Fact]
    public async Task HostileImageNames_Are404_WithTheNameEscaped()
    {
        await using var node = await DataplaneFixture.StartAsync();
        node.Route("img");
        using var client = node.CreateClient();

        using var response = await client.GetAsync("/g/%3Cscript%3E%22/x").DefaultTimeout();

        await ErrorAnswerTests.AssertErrorAsync(response, HttpStatusCode.NotFound, "not_found");
        Assert.DoesNotContain("<script>", await response.Content.ReadAsStringAsync().DefaultTimeout(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SlowlorisHeaders_AreCutOff()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync(builder =>
            builder.WebHost.ConfigureKestrel(k => k.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(1)));
        node.Route("img", backend);

        await using var raw = await RawHttp.ConnectAsync(node.Http);
        await raw.WriteAsync("GET /g/img/x HTTP/1.1\r\nHost: edge\r\nX-Slow: a");

        // Kestrel answers 408 and closes the connection; the request never reaches the instance.
        var response = await raw.ReadResponseAsync();
        Assert.Equal(408, response.Status);
        Assert.True(await raw.IsClosedByServerAsync());
        Assert.Empty(backend.Requests);
    }

    [Fact]
    public async Task SlowlorisBody_IsCutOff_AndTheUpstreamCallCancelled()
    {
        await using var backend = await TestBackend.StartAsync("b1");
        await using var node = await DataplaneFixture.StartAsync(builder =>
            builder.WebHost.ConfigureKestrel(k => k.Limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 1000, gracePeriod: TimeSpan.FromSeconds(1.5))));
        node.Route("img", backend);

        await using var raw = await RawHttp.ConnectAsync(node.Http);
        await raw.WriteAsync("POST /g/img/upload HTTP/1.1\r\nHost: edge\r\nContent-Length: 1000000\r\n\r\n" + new string('x', 100));
        await backend.FirstBytes.Task.DefaultTimeout();

        // Nothing more is sent: the node answers 408, closes the connection and drops the call to the instance.
        var response = await raw.ReadResponseAsync();
        Assert.Equal(408, response.Status);
        Assert.Contains("request_timeout", response.Body, StringComparison.Ordinal);
        Assert.True(await raw.IsClosedByServerAsync());
        await backend.Aborted.Task.DefaultTimeout();
    }
}
